package ckpt.cli;

import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static ckpt.cli.RotationCommandsTest.ckpt;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hostile inputs found by scripts/redteam_errors.sh: each must give one line naming the file, in words (no Java or
 * Jackson class, token or setting name), exit 1, and change nothing.
 */
class HostileInputsTest {
    private static final Path LLAMA = Fixtures.path("megatron-llama-tp2/checkpoint");

    @TempDir
    Path tmp;

    private static void assertOneLineInWords(RotationCommandsTest.Run r, String names) {
        assertThat(r.code()).as(r.err()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.err().lines().toList()).as(r.err()).hasSize(1);
        assertThat(r.err()).startsWith("ckpt: ").contains(names).doesNotContain("Exception").doesNotContain("For input string")
                .doesNotContain("`").doesNotContain("$").doesNotContain("JsonToken").doesNotContain("ckpt.convert.")
                .doesNotContain("StreamReadConstraints");
    }

    /** An iteration dir whose number does not fit a long is not an iteration (was: "For input string"). */
    @Test
    void anIterationDirWithTwentyDigitsIsNotAnIteration() throws Exception {
        Path save = Fixtures.copyTree(LLAMA, tmp.resolve("save"));
        Files.createDirectory(save.resolve("iter_99999999999999999999"));
        for (String cmd : List.of("inspect", "verify", "list")) {
            var r = ckpt(cmd, save);
            assertThat(r.code()).as(cmd + ": " + r.err()).isZero();
            assertThat(r.err()).doesNotContain("For input string");
        }
        assertThat(ckpt("rotate", "--dry-run", "--keep-last", "1", save).code()).isZero();
    }

    /** A damaged parts plan (valid JSON, wrong shape) was reported with Jackson's message naming ckpt's classes. */
    @Test
    void aPartsPlanOfTheWrongShapeIsSaidInWords() throws Exception {
        Path out = tmp.resolve("out");
        for (int i = 1; i <= 2; i++)
            assertThat(ckpt("convert", LLAMA, "--quiet", "--format", "safetensors", "--part", i + "/2", "--output-dir", out).code()).isZero();
        Path plan = tmp.resolve("out.parts/plan.json");
        for (String bad : List.of("[1, 2]", "{\"schema\": [[]]}", "{\"x\":")) {
            Files.writeString(plan, bad);
            var r = ckpt("convert", LLAMA, "--quiet", "--format", "safetensors", "--finish", "--output-dir", out);
            assertOneLineInWords(r, plan.toString());
            assertThat(r.err()).contains("not a ckpt parts file");
            assertThat(out).doesNotExist();
        }
    }

    /** A config.json nested past the limit: Jackson's message named its setting's getter. */
    @Test
    void aDeeplyNestedConfigJsonIsSaidInWords() throws Exception {
        Path hf = tmp.resolve("hf");
        Fixtures.copyTree(Fixtures.path("dcp-variety-hf/checkpoint"), hf);
        Path cfg = hf.resolve("config.json");
        Files.writeString(cfg, "{\"model_type\": \"llama\", \"x\": " + "[".repeat(100) + "]".repeat(100) + "}");
        var r = ckpt("convert", hf, "--quiet", "--format", "megatron", "--output-dir", tmp.resolve("o"));
        assertOneLineInWords(r, cfg.toString());
        assertThat(r.err()).contains("nesting depth");
        assertThat(tmp.resolve("o")).doesNotExist();
    }

    /** A DeepSpeed 'latest' holding a NUL (was the JDK's "Nul character not allowed", naming the dir) or non-UTF-8 bytes. */
    @Test
    void aDeepSpeedLatestWithANulOrNotUtf8IsNamedInWords() throws Exception {
        Path ds = tmp.resolve("ds");
        Fixtures.copyTree(Fixtures.path("deepspeed-zero3-llama-dp2/global_step4"), ds.resolve("global_step4"));
        Path latest = ds.resolve("latest");
        Files.write(latest, "global_step4\u0000x".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        for (String cmd : List.of("inspect", "convert")) {
            var r = cmd.equals("inspect") ? ckpt("inspect", ds) : ckpt("convert", ds, "--format", "pytorch", "--output-dir", tmp.resolve("o"));
            assertOneLineInWords(r, latest.toString());
            assertThat(r.err()).contains("tracker names 'global_step4?x', which is not a directory name").doesNotContain("Nul");
        }
        Files.write(latest, new byte[]{(byte) 0xFF, (byte) 0xFE});
        var r = ckpt("inspect", ds);
        assertOneLineInWords(r, latest.toString());
        assertThat(r.err()).contains("not UTF-8").doesNotContain("Input length");
    }
}
