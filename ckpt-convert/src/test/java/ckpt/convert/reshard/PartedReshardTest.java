package ckpt.convert.reshard;

import ckpt.convert.exec.ConversionListener;
import ckpt.convert.exec.PartRun;
import ckpt.convert.plan.PartSpec;
import ckpt.format.FormatException;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SortedMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code ckpt reshard --part I/N} + {@code --finish}: for the real Megatron fixtures (dp_reshardable torch_dist, the
 * legacy {@code mp_rank_*} twin with {@code distrib_optim.pt}, model-only Qwen3, a core 0.14 save whose common state is
 * {@code common.pt}) at several target layouts, N = 1, 2, 3, 7 parts + finish publish exactly the files, byte for byte,
 * of the single-process reshard (itself checked against PyTorch's references by {@link ReshardTest} and
 * {@link LegacyReshardTest}); missing, truncated, damaged, foreign and killed parts are named and nothing is published.
 */
class PartedReshardTest {
    private static final Path LLAMA = Fixtures.path("megatron-llama-tp2", "checkpoint");
    private static final Path LEGACY = Fixtures.path("megatron-llama-tp2-legacy-torch", "checkpoint");
    private static final Path QWEN3 = Fixtures.path("megatron-qwen3-tp2", "checkpoint");
    private static final Path CORE014 = Fixtures.path("megatron-llama-tp2-core014", "checkpoint");

    @TempDir
    Path tmp;

    private record Case(String name, Path source, Integer tp, Integer pp, OptimizerChoice optimizer) {
        ReshardOptions options(Path out) {
            return ReshardOptions.of(source, out).withLayout(tp, pp).withOptimizer(optimizer);
        }
    }

    private static final List<Case> CASES = List.of(
            new Case("llama-tp1", LLAMA, 1, 1, null),
            new Case("llama-tp2pp2", LLAMA, 2, 2, null),
            new Case("legacy-tp1", LEGACY, 1, 1, null),
            new Case("legacy-tp2pp2", LEGACY, 2, 2, null),
            new Case("qwen3-tp1pp2", QWEN3, 1, 2, null),
            new Case("core014-tp1", CORE014, 1, null, OptimizerChoice.DROP));

    /** The single-process output's files (relative path → sha256), written to {@code out} and then removed. */
    private static SortedMap<String, String> single(ReshardOptions o) throws IOException {
        new Resharder().reshard(o, ConversionListener.NONE);
        SortedMap<String, String> m = Fixtures.treeSha256(o.outputDir());
        Fixtures.deleteTree(o.outputDir());
        return m;
    }

    private static void parts(ReshardOptions o, int n, int... which) throws IOException {
        for (int i : which) new Resharder().part(o, new PartSpec(i, n), ConversionListener.NONE);
    }

    private static void allParts(ReshardOptions o, int n) throws IOException {
        for (int i = 1; i <= n; i++) parts(o, n, i);
    }

    @Test
    void everyFixtureAndLayoutInNParts_equalsTheSingleProcessBytes() throws IOException {
        for (Case c : CASES) {
            Path out = tmp.resolve(c.name());
            ReshardOptions o = c.options(out);
            SortedMap<String, String> expected = single(o);
            assertThat(expected.keySet()).as(c.name()).anyMatch(f -> f.endsWith("/.metadata")).anyMatch(f -> f.endsWith("__0_0.distcp"));
            if (c.source() == CORE014) assertThat(expected.keySet()).as(c.name()).anyMatch(f -> f.endsWith("/common.pt"));
            for (int n : new int[]{1, 2, 3, 7}) {
                allParts(o, n);
                assertThat(out).as("nothing is published before --finish").doesNotExist();
                ReshardResult r = new Resharder().finish(o, ConversionListener.NONE);
                assertThat(r.output()).isEqualTo(out.toAbsolutePath().normalize());
                assertThat(Fixtures.treeSha256(out)).as(c.name() + " in " + n + " parts").isEqualTo(expected);
                assertThat(PartRun.stagingDir(out)).doesNotExist();
                Fixtures.deleteTree(out);
            }
        }
    }

    @Test
    void missingPart_isNamed_andNothingIsPublished() throws IOException {
        Path out = tmp.resolve("missing");
        ReshardOptions o = CASES.getFirst().options(out);
        parts(o, 3, 1, 3);
        assertThatThrownBy(() -> new Resharder().finish(o, ConversionListener.NONE)).isInstanceOf(FormatException.class)
                .hasMessageContaining("part 2/3 has not completed").hasMessageContaining("nothing was published");
        assertThat(out).doesNotExist();
        parts(o, 3, 2);
        new Resharder().finish(o, ConversionListener.NONE);
        assertThat(out.resolve("latest_checkpointed_iteration.txt")).hasContent("4");
    }

    @Test
    void truncatedPart_isNamed_andNothingIsPublished() throws IOException {
        Path out = tmp.resolve("truncated");
        ReshardOptions o = CASES.get(2).options(out);
        SortedMap<String, String> expected = single(o);
        allParts(o, 3);
        // cut the file part 2 wrote last into just before that region's end: part 1's regions of the file lie before it
        JsonNode last = null;
        for (JsonNode r : regions(out, 2, 3)) if (last == null || r.get("offset").asLong() + r.get("length").asLong()
                > last.get("offset").asLong() + last.get("length").asLong() && r.get("file").asText().equals(fileOfMostBytes(out, 2, 3))) last = r;
        Path file = PartRun.stagingDir(out).resolve("out").resolve(last.get("file").asText());
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(last.get("offset").asLong() + last.get("length").asLong() - 1);
        }
        assertThatThrownBy(() -> new Resharder().finish(o, ConversionListener.NONE)).isInstanceOf(FormatException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("part 2/3 is incomplete").hasMessageContaining("--part 2/3");
        assertThat(out).doesNotExist();
        parts(o, 3, 2, 3); // the cut took part 3's bytes of that file too, if it had any
        new Resharder().finish(o, ConversionListener.NONE);
        assertThat(Fixtures.treeSha256(out)).isEqualTo(expected);
    }

    @Test
    void damagedPart_isNamedByItsCrc_andNothingIsPublished() throws IOException {
        Path out = tmp.resolve("damaged");
        ReshardOptions o = CASES.getFirst().options(out);
        SortedMap<String, String> expected = single(o);
        allParts(o, 3);
        JsonNode r = regions(out, 2, 3).get(0);
        Path file = PartRun.stagingDir(out).resolve("out").resolve(r.get("file").asText());
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            long at = r.get("offset").asLong() + r.get("length").asLong() / 2;
            raf.seek(at);
            int b = raf.read();
            raf.seek(at);
            raf.write(b ^ 1);
        }
        assertThatThrownBy(() -> new Resharder().finish(o, ConversionListener.NONE)).isInstanceOf(FormatException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("part 2/3 is damaged");
        assertThat(out).doesNotExist();
        parts(o, 3, 2);
        new Resharder().finish(o, ConversionListener.NONE);
        assertThat(Fixtures.treeSha256(out)).isEqualTo(expected);
    }

    @Test
    void partsOfAnotherPlan_orAnotherCount_areRefused() throws IOException {
        Path out = tmp.resolve("foreign");
        ReshardOptions o = CASES.getFirst().options(out);
        ReshardOptions other = o.withLayout(2, 2);
        allParts(o, 3);
        assertThatThrownBy(() -> new Resharder().finish(other, ConversionListener.NONE)).isInstanceOf(FormatException.class)
                .hasMessageContaining("part 1/3 was written for a different plan").hasMessageContaining("nothing was published");
        assertThat(out).doesNotExist();
        assertThatThrownBy(() -> new Resharder().part(other, new PartSpec(2, 3), ConversionListener.NONE))
                .isInstanceOf(FormatException.class).hasMessageContaining("different plan");
        assertThatThrownBy(() -> new Resharder().part(o.withOptimizer(OptimizerChoice.DROP), new PartSpec(2, 3), ConversionListener.NONE))
                .isInstanceOf(FormatException.class).hasMessageContaining("different plan");
        assertThatThrownBy(() -> new Resharder().part(o, new PartSpec(2, 4), ConversionListener.NONE))
                .isInstanceOf(FormatException.class).hasMessageContaining("in 3 parts, this task asks for 4");
        // a marker of another plan in place of part 2's (copied over from a staging dir of the TP2·PP2 reshard)
        Path foreign = tmp.resolve("foreign2");
        allParts(ReshardOptions.of(LLAMA, foreign).withLayout(2, 2), 3);
        Files.copy(PartRun.stagingDir(foreign).resolve(marker(2, 3)), PartRun.stagingDir(out).resolve(marker(2, 3)),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThatThrownBy(() -> new Resharder().finish(o, ConversionListener.NONE)).isInstanceOf(FormatException.class)
                .hasMessageContaining("part 2/3 was written for a different plan");
        assertThat(out).doesNotExist();
        parts(o, 3, 2);
        new Resharder().finish(o, ConversionListener.NONE);
        assertThat(out).exists();
    }

    @Test
    void partKilledMidWrite_thenReRun_givesTheSameBytes() throws IOException {
        Path out = tmp.resolve("killed");
        ReshardOptions o = CASES.get(3).options(out);
        SortedMap<String, String> expected = single(o);
        allParts(o, 3);
        // what a kill leaves: no marker, and the part's bytes half written (garbage in its regions)
        Path staging = PartRun.stagingDir(out);
        List<JsonNode> regions = regions(out, 2, 3);
        Files.delete(staging.resolve(marker(2, 3)));
        for (JsonNode r : regions) {
            long off = r.get("offset").asLong(), len = r.get("length").asLong();
            try (RandomAccessFile raf = new RandomAccessFile(staging.resolve("out").resolve(r.get("file").asText()).toFile(), "rw")) {
                raf.seek(off + len / 3);
                raf.write(new byte[(int) Math.min(len / 3, 4096)]);
                raf.seek(off);
                raf.write(0x5a);
            }
        }
        assertThatThrownBy(() -> new Resharder().finish(o, ConversionListener.NONE)).isInstanceOf(FormatException.class)
                .hasMessageContaining("part 2/3 has not completed");
        assertThat(out).doesNotExist();
        parts(o, 3, 2);
        parts(o, 3, 2); // idempotent: a second re-run changes nothing
        new Resharder().finish(o, ConversionListener.NONE);
        assertThat(Fixtures.treeSha256(out)).isEqualTo(expected);
    }

    @Test
    void secondFinish_whileOneHoldsTheLock_isRefused() throws IOException {
        Path out = tmp.resolve("locked");
        ReshardOptions o = CASES.getFirst().options(out);
        allParts(o, 2);
        Path lockFile = PartRun.stagingDir(out).resolve("finish.lock");
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock held = ch.lock()) {
            assertThat(held.isValid()).isTrue();
            assertThatThrownBy(() -> new Resharder().finish(o, ConversionListener.NONE)).isInstanceOf(FormatException.class)
                    .hasMessageContaining(PartRun.stagingDir(out).toString()).hasMessageContaining("another --finish is running");
            assertThat(out).doesNotExist();
        }
        new Resharder().finish(o, ConversionListener.NONE);
        assertThat(out).exists();
    }

    /** A source named X.parts resharded into X: its own dir would be the staging dir, written into and deleted by --finish. */
    @Test
    void sourceThatIsTheStagingDir_isRefused_andLeftAlone() throws IOException {
        Path src = Fixtures.copyTree(LLAMA, tmp.resolve("save.parts"));
        SortedMap<String, String> before = Fixtures.treeSha256(src);
        ReshardOptions o = ReshardOptions.of(src, tmp.resolve("save")).withLayout(1, 1);
        assertThatThrownBy(() -> new Resharder().part(o, new PartSpec(1, 1), ConversionListener.NONE))
                .isInstanceOf(FormatException.class).hasMessageContaining("staging dir").hasMessageContaining(src.toString());
        assertThatThrownBy(() -> new Resharder().finish(o, ConversionListener.NONE))
                .isInstanceOf(FormatException.class).hasMessageContaining("staging dir");
        assertThat(Fixtures.treeSha256(src)).isEqualTo(before);
        assertThat(tmp.resolve("save")).doesNotExist();
    }

    @Test
    void existingOutput_isRefused_unlessForced() throws IOException {
        Path out = tmp.resolve("exists");
        ReshardOptions o = CASES.getFirst().options(out);
        new Resharder().reshard(o, ConversionListener.NONE);
        assertThatThrownBy(() -> new Resharder().part(o, new PartSpec(1, 2), ConversionListener.NONE))
                .isInstanceOf(java.nio.file.FileAlreadyExistsException.class).hasMessageContaining("exists");
        assertThat(PartRun.stagingDir(out)).doesNotExist();
        allParts(o.withForce(true), 2);
        new Resharder().finish(o.withForce(true), ConversionListener.NONE);
        assertThat(out.resolve("iter_0000004/.metadata")).exists();
    }

    /** A marker edited by hand (or by a stray tool) is named as the file at fault, never reported as an internal bug. */
    @Test
    void editedMarker_isNamedInOneLine_andNothingIsPublished() throws IOException {
        Path out = tmp.resolve("edited");
        ReshardOptions o = CASES.getFirst().options(out);
        allParts(o, 2);
        Path m = PartRun.stagingDir(out).resolve(marker(1, 2));
        String original = Files.readString(m);
        ObjectMapper json = new ObjectMapper();
        List<java.util.function.Consumer<com.fasterxml.jackson.databind.node.ObjectNode>> edits = List.of(
                r -> r.putNull("file"),
                r -> r.put("offset", Long.MAX_VALUE - 4).put("length", 10),
                r -> r.put("file", "iter_0000004/__0_0.distcp\u0000x"),
                r -> r.put("offset", r.get("offset").asLong() + 1));
        for (boolean verify : new boolean[]{true, false}) {
            ReshardOptions f = new ReshardOptions(o.source(), out, o.tp(), o.pp(), o.ep(), o.optimizer(), null, false, verify);
            for (var edit : edits) {
                var tree = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(original);
                edit.accept((com.fasterxml.jackson.databind.node.ObjectNode) tree.get("regions").get(0));
                Files.writeString(m, json.writeValueAsString(tree));
                assertThatThrownBy(() -> new Resharder().finish(f, ConversionListener.NONE))
                        .isInstanceOf(FormatException.class).hasMessageContaining(PartRun.stagingDir(out).toString());
                assertThat(out).doesNotExist();
            }
            Files.writeString(m, "{\"schema\": \"ckpt.convert.parts/2\", \"regions\": [null]}");
            assertThatThrownBy(() -> new Resharder().finish(f, ConversionListener.NONE))
                    .isInstanceOf(FormatException.class).hasMessageContaining(m.toString());
        }
        Files.writeString(m, original);
        new Resharder().finish(o, ConversionListener.NONE);
        assertThat(out.resolve("iter_0000004/.metadata")).exists();
    }

    private static String marker(int part, int parts) {
        return String.format(Locale.ROOT, "part-%05d-of-%05d.done.json", part, parts);
    }

    private static List<JsonNode> regions(Path out, int part, int parts) throws IOException {
        JsonNode m = new ObjectMapper().readTree(PartRun.stagingDir(out).resolve(marker(part, parts)).toFile());
        List<JsonNode> r = new ArrayList<>();
        m.get("regions").forEach(r::add);
        assertThat(r).as("part %d/%d has something to write", part, parts).isNotEmpty();
        return r;
    }

    /** The file in which part {@code part} wrote the most bytes. */
    private static String fileOfMostBytes(Path out, int part, int parts) throws IOException {
        java.util.Map<String, Long> bytes = new java.util.TreeMap<>();
        for (JsonNode r : regions(out, part, parts)) bytes.merge(r.get("file").asText(), r.get("length").asLong(), Long::sum);
        return bytes.entrySet().stream().max(java.util.Map.Entry.comparingByValue()).orElseThrow().getKey();
    }
}
