package ckpt.cli;

import ckpt.format.testing.Fixtures;
import ckpt.convert.rotation.RotationFixtures;
import ckpt.convert.rotation.RotationLock;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static ckpt.format.testing.Fixtures.copyTree;
import static ckpt.convert.rotation.RotationFixtures.fingerprint;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class RotationCommandsTest {
    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
    }

    static Run ckpt(Object... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = CkptCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        String[] a = Stream.of(args).map(String::valueOf).toArray(String[]::new);
        int code = cl.execute(a);
        return new Run(code, out.toString(), err.toString());
    }

    private Path torchDistSaveDir() throws Exception {
        return copyTree(Fixtures.path(RotationFixtures.TORCH_DIST), tmp.resolve("save"));
    }

    private static long sumOfFileSizes(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            long t = 0;
            for (Path p : (Iterable<Path>) s::iterator) if (Files.isRegularFile(p)) t += Files.size(p);
            return t;
        }
    }

    @Test
    void listJsonDescribesTheSaveDir() throws Exception {
        Path sd = torchDistSaveDir();
        Files.delete(sd.resolve("iter_0000004/metadata.json"));
        copyTree(Fixtures.path(RotationFixtures.LEGACY).resolve("iter_0000004"), sd.resolve("iter_0000001"));
        Files.move(sd.resolve("iter_0000002"), sd.resolve(".deleting.iter_0000002"));

        Run r = ckpt("list", sd, "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("schema").asText()).isEqualTo("ckpt.list/1");
        assertThat(j.get("save_dir").asText()).isEqualTo(sd.toRealPath().toString());
        JsonNode tracker = j.get("trackers").get(0);
        assertThat(tracker.get("file").asText()).isEqualTo("latest_checkpointed_iteration.txt");
        assertThat(tracker.get("value").asText()).isEqualTo("4");
        assertThat(tracker.get("exists").asBoolean()).isTrue();

        List<String> rows = new ArrayList<>();
        for (JsonNode c : j.get("checkpoints")) {
            rows.add(c.get("name").asText() + " " + c.get("iteration").asLong() + " " + c.get("status").asText() + " "
                    + c.get("layout").asText() + " " + c.get("latest").asBoolean());
        }
        assertThat(rows).containsExactly(
                "iter_0000001 1 complete legacy_torch false",
                ".deleting.iter_0000002 2 deleting unknown false",
                "iter_0000004 4 incomplete torch_dist true");
        JsonNode four = j.get("checkpoints").get(2);
        assertThat(four.get("problems").get(0).asText()).isEqualTo("no metadata.json");
        assertThat(four.get("size_bytes").asLong()).isEqualTo(sumOfFileSizes(sd.resolve("iter_0000004")));
        assertThat(java.time.Instant.parse(four.get("modified").asText())).isNotNull();
    }

    @Test
    void listTableShowsEveryCheckpointAndTheMissingTrackerTarget() throws Exception {
        Path sd = torchDistSaveDir();
        Files.writeString(sd.resolve("latest_checkpointed_iteration.txt"), "6");
        Run r = ckpt("list", sd);
        assertThat(r.code()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).anyMatch(l -> l.contains("6 -> iter_0000006") && l.contains("MISSING"));
        String header = lines.stream().filter(l -> l.startsWith("NAME")).findFirst().orElseThrow();
        String row2 = lines.stream().filter(l -> l.startsWith("iter_0000002")).findFirst().orElseThrow();
        // aligned: the STATUS column starts at the same offset in header and row
        assertThat(row2.indexOf("complete")).isEqualTo(header.indexOf("STATUS"));
        assertThat(row2).contains(Long.toString(sumOfFileSizes(sd.resolve("iter_0000002"))));
    }

    @Test
    void rotateDryRunTouchesNothing() throws Exception {
        Path sd = torchDistSaveDir();
        Files.move(sd.resolve("iter_0000002"), sd.resolve(".deleting.iter_0000002"));
        copyTree(Fixtures.path(RotationFixtures.CORE014).resolve("iter_0000004"), sd.resolve("iter_0000003"));
        Map<String, String> before = fingerprint(tmp);

        Run human = ckpt("rotate", sd, "--keep-last", 1, "--dry-run");
        Run json = ckpt("rotate", sd, "--keep-last", "1", "--dry-run", "--json", "--remove-incomplete", "--min-age", "0s");

        assertThat(fingerprint(tmp)).isEqualTo(before);
        assertThat(human.code()).as(human.err()).isZero();
        assertThat(human.out()).contains("dry run").contains("nothing was touched");
        assertThat(human.out().lines().filter(l -> l.startsWith("remove")))
                .anyMatch(l -> l.contains("iter_0000003") && l.contains("planned"))
                .anyMatch(l -> l.contains(".deleting.iter_0000002"));
        assertThat(json.code()).isZero();
        JsonNode j = new ObjectMapper().readTree(json.out());
        assertThat(j.get("schema").asText()).isEqualTo("ckpt.rotate/1");
        assertThat(j.get("dry_run").asBoolean()).isTrue();
        assertThat(j.get("policy").get("keep_last").asInt()).isEqualTo(1);
        assertThat(j.get("policy").get("min_age_seconds").asLong()).isZero();
        List<String> plan = new ArrayList<>();
        for (JsonNode d : j.get("decisions")) {
            plan.add(d.get("name").asText() + " " + d.get("action").asText() + " " + d.get("result").asText() + " "
                    + d.get("reasons").get(0).get("id").asText());
        }
        assertThat(plan).containsExactly(
                ".deleting.iter_0000002 remove planned interrupted",
                "iter_0000003 remove planned not_retained",
                "iter_0000004 keep kept tracker_latest");
        long expectedBytes = sumOfFileSizes(sd.resolve(".deleting.iter_0000002")) + sumOfFileSizes(sd.resolve("iter_0000003"));
        assertThat(j.get("summary").get("bytes_to_free").asLong()).isEqualTo(expectedBytes);
    }

    @Test
    void rotateRemovesAndExitsZeroAlsoWhenNothingHasToGo() throws Exception {
        Path sd = torchDistSaveDir();
        Run r = ckpt("rotate", sd, "--keep-last", 1, "--json");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(sd.resolve("iter_0000002")).doesNotExist();
        assertThat(sd.resolve("iter_0000004/.metadata")).exists();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("summary").get("removed").asInt()).isEqualTo(1);
        assertThat(j.get("decisions").get(0).get("result").asText()).isEqualTo("removed");

        Run again = ckpt("rotate", sd, "--keep-last", 1);
        assertThat(again.code()).isZero();
        assertThat(again.out()).contains("removed 0 of 0");
    }

    @Test
    void usageErrorsExitTwo() throws Exception {
        Path sd = torchDistSaveDir();
        Map<String, String> before = fingerprint(sd);
        for (Object[] args : new Object[][]{
                {"rotate", sd},
                {"rotate", sd, "--keep-last", 0},
                {"rotate", sd, "--keep-last", "x"},
                {"rotate", sd, "--keep-last", 1, "--min-age", "5x"},
                {"rotate", sd, "--keep-last", 1, "--keep-every", -3},
                {"rotate", sd, "--keep-last", 1, "--no-such-option"},
                {"list"}}) {
            Run r = ckpt(args);
            assertThat(r.code()).as(java.util.Arrays.toString(args) + r.err()).isEqualTo(ExitCodes.USAGE);
            assertThat(r.err()).isNotBlank();
        }
        assertThat(fingerprint(sd)).isEqualTo(before);
    }

    @Test
    void aHeldLockExitsOneWithAClearMessage() throws Exception {
        Path sd = torchDistSaveDir();
        try (RotationLock held = RotationLock.acquire(sd, Duration.ZERO)) {
            Run r = ckpt("rotate", sd, "--keep-last", 1);
            assertThat(r.code()).isEqualTo(ExitCodes.PROBLEMS);
            assertThat(r.err()).startsWith("ckpt: ").contains(".ckpt-rotate.lock").contains("another ckpt rotate holds this lock");
            assertThat(sd.resolve("iter_0000002")).exists();
        }
    }

    @Test
    void aFailedRemovalExitsOneAndIsListed() throws Exception {
        Path sd = torchDistSaveDir();
        Path stuck = sd.resolve("iter_0000002/__0_0.distcp");
        assumeTrue(RotationFixtures.makeUndeletable(stuck), "this machine cannot make a file undeletable");
        Path moved = sd.resolve(".deleting.iter_0000002/__0_0.distcp");
        try {
            Run r = ckpt("rotate", sd, "--keep-last", 1);
            assertThat(r.code()).isEqualTo(ExitCodes.PROBLEMS);
            assertThat(r.err()).contains("could not remove iter_0000002").contains("__0_0.distcp");
            assertThat(r.out()).contains("FAILED");
        } finally {
            RotationFixtures.makeDeletable(Files.exists(moved) ? moved : stuck);
        }
        Run list = ckpt("list", sd, "--json");
        JsonNode first = new ObjectMapper().readTree(list.out()).get("checkpoints").get(0);
        assertThat(first.get("status").asText()).isEqualTo("deleting");
        assertThat(ckpt("rotate", sd, "--keep-last", 1).code()).isZero();
        assertThat(sd.resolve(".deleting.iter_0000002")).doesNotExist();
    }

    @Test
    void aMissingSaveDirIsReportedOnOneLine() {
        Run r = ckpt("list", tmp.resolve("nope"));
        assertThat(r.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.err().strip()).isEqualTo("ckpt: " + tmp.resolve("nope") + ": no such file or directory");
    }

    @Test
    void aSaveDirThatIsAFileIsReportedOnOneLine() throws Exception {
        Path f = Files.writeString(tmp.resolve("file"), "x");
        Run r = ckpt("rotate", f, "--keep-last", 1);
        assertThat(r.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.err().strip()).isEqualTo("ckpt: " + f + ": not a directory");
        assertThat(Files.readString(f)).isEqualTo("x");
    }

    @Test
    void topLevelHelpNamesTheCommands() {
        Run r = ckpt("--help");
        assertThat(r.out()).contains("list").contains("rotate");
    }
}
