package ckpt.convert.exec;

import ckpt.format.FormatException;
import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Issue #12 items 1 and 9: convert never writes over its input, --force replaces only ckpt's output, staging dirs of dead runs go. */
class OutputSafetyTest {
    @TempDir
    Path tmp;

    private Path saveDir() throws IOException {
        return Fixtures.copyTree(Fixtures.path("megatron-llama-tp2/checkpoint"), tmp.resolve("save"));
    }

    private static void convert(Path in, Path out, boolean force) throws IOException {
        new Converter().convert(ConvertOptions.of(in, OutputFormat.HUGGINGFACE, out).withForce(force), ConversionListener.NONE);
    }

    private static List<String> tree(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            return s.map(p -> dir.relativize(p) + (Files.isDirectory(p) ? "/" : ":" + p.toFile().length())).sorted().toList();
        }
    }

    @Test
    void outputThatIsContainsOrLiesInsideTheInputIsRefusedAndTheInputKept() throws IOException {
        Path save = saveDir();
        List<String> before = tree(save);
        Path link = Files.createSymbolicLink(tmp.resolve("link-to-save"), save);
        for (Path out : List.of(save, tmp, save.resolve("iter_0000004"), save.resolve("iter_0000004/sub"),
                save.resolve("iter_0000004/.."), link, link.resolve("iter_0000004"))) {
            for (boolean force : new boolean[]{false, true}) {
                assertThatThrownBy(() -> convert(save, out, force)).as("%s force=%s", out, force)
                        .isInstanceOf(FormatException.class).hasMessageContaining("input checkpoint").hasMessageNotContaining("\n");
            }
        }
        // the iteration dir as input, its save dir as output
        assertThatThrownBy(() -> convert(save.resolve("iter_0000004"), save, true))
                .isInstanceOf(FormatException.class).hasMessageContaining("contains the input checkpoint");
        assertThat(tree(save)).isEqualTo(before);
    }

    @Test
    void dotIsComparedAsItsRealPath() {
        Path cwd = Path.of("").toAbsolutePath();
        assertThatThrownBy(() -> OutputDirGuard.check(cwd, Path.of("."), true))
                .isInstanceOf(FormatException.class).hasMessageContaining("is the input checkpoint");
        assertThatThrownBy(() -> OutputDirGuard.check(cwd.resolve("src"), Path.of("."), true))
                .isInstanceOf(FormatException.class).hasMessageContaining("contains the input checkpoint");
    }

    @Test
    void forceReplacesOnlyEmptyOrCkptWrittenDirectories() throws IOException {
        Path save = saveDir();
        Path foreign = Files.createDirectories(tmp.resolve("foreign"));
        Files.writeString(foreign.resolve("thesis.tex"), "years of work");
        assertThatThrownBy(() -> convert(save, foreign, true)).isInstanceOf(FormatException.class)
                .hasMessageContaining("--force replaces only an empty directory or one ckpt wrote");
        assertThat(foreign.resolve("thesis.tex")).hasContent("years of work");

        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        assertThatThrownBy(() -> convert(save, file, true)).isInstanceOf(FormatException.class).hasMessageContaining("not a directory");

        Path linkToForeign = Files.createSymbolicLink(tmp.resolve("link"), foreign);
        assertThatThrownBy(() -> convert(save, linkToForeign, true)).isInstanceOf(FormatException.class).hasMessageContaining("symbolic link");

        Path empty = Files.createDirectories(tmp.resolve("empty"));
        convert(save, empty, true);
        assertThat(empty.resolve("config.json")).exists();
        assertThat(empty.resolve(OutputDirGuard.MARKER)).exists();
        assertThat(empty.resolve(StagingOwner.FILE)).doesNotExist();
        convert(save, empty, true); // ckpt's own output may be replaced
        assertThat(empty.resolve("config.json")).exists();
    }

    @Test
    void staleStagingDirsOfDeadProcessesAreRemovedOthersKept() throws IOException {
        Path out = tmp.resolve("out");
        String host = StagingOwner.hostName();
        Path dead = staging(out, "dead", new StagingOwner(999_999_001L, Instant.parse("2026-01-01T00:00:00Z"), host));
        Path reused = staging(out, "reused", new StagingOwner(999_999_002L, Instant.parse("2026-01-01T00:00:00Z"), host));
        Path live = staging(out, "live", new StagingOwner(999_999_003L, Instant.parse("2026-01-01T00:00:00Z"), host));
        Path otherHost = staging(out, "elsewhere", new StagingOwner(999_999_001L, Instant.parse("2026-01-01T00:00:00Z"), host + "-other"));
        Path noRecord = Files.createDirectories(tmp.resolve("out.tmp-norecord"));
        Path otherOutput = staging(tmp.resolve("another"), "dead", new StagingOwner(999_999_001L, Instant.EPOCH, host));
        StagingOwner.ProcessLookup processes = pid -> pid == 999_999_002L ? Optional.of(Instant.parse("2026-02-02T00:00:00Z"))
                : pid == 999_999_003L ? Optional.of(Instant.parse("2026-01-01T00:00:00Z")) : Optional.empty();

        List<StagingOwner.Leftover> found = StagingOwner.find(tmp, null, processes);
        assertThat(found).extracting(l -> l.dir().getFileName().toString() + "=" + l.stale()).containsExactlyInAnyOrder(
                "another.tmp-dead=true", "out.tmp-dead=true", "out.tmp-elsewhere=false", "out.tmp-live=false",
                "out.tmp-norecord=false", "out.tmp-reused=true");

        assertThat(StagingOwner.removeStale(out, processes)).containsExactlyInAnyOrder(dead, reused);
        assertThat(dead).doesNotExist();
        assertThat(reused).doesNotExist();
        assertThat(live).exists();
        assertThat(otherHost).exists();
        assertThat(noRecord).exists();
        assertThat(otherOutput).exists(); // another output's leftovers are its own conversion's business
    }

    @Test
    void theNextConvertRemovesAKilledRunsStagingDir() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        Path out = tmp.resolve("hf");
        Path left = staging(out, "killed", new StagingOwner(p.pid(), p.info().startInstant().orElse(Instant.EPOCH), StagingOwner.hostName()));
        Files.write(left.resolve("model-00001-of-00001.safetensors"), new byte[4096]);
        convert(saveDir(), out, false);
        assertThat(left).doesNotExist();
        assertThat(out.resolve("config.json")).exists();
    }

    private static Path staging(Path out, String suffix, StagingOwner owner) throws IOException {
        Path dir = Files.createDirectories(out.resolveSibling(out.getFileName() + StagingOwner.STAGING_INFIX + suffix));
        owner.write(dir);
        return dir;
    }
}
