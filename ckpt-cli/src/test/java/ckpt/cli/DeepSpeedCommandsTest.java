package ckpt.cli;

import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static ckpt.cli.RotationCommandsTest.ckpt;
import static org.assertj.core.api.Assertions.assertThat;

/** The commands on the DeepSpeed fixtures: what a user sees, exit codes, one-line errors. */
class DeepSpeedCommandsTest {
    static final Path ZERO3 = Fixtures.path("deepspeed-zero3-llama-dp2");

    @TempDir
    Path tmp;

    @Test
    void inspectNamesStagePrecisionAndWorldSize() throws Exception {
        RotationCommandsTest.Run r = ckpt("inspect", ZERO3);
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("DeepSpeed ZeRO stage 3, bf16, world size 2").contains("221,760 parameters");
        JsonNode j = new ObjectMapper().readTree(ckpt("inspect", ZERO3, "--json").out());
        assertThat(j.get("format").asText()).isEqualTo("deepspeed_zero");
    }

    @Test
    void verifyAndList() {
        assertThat(ckpt("verify", ZERO3, "--deep").code()).isZero();
        RotationCommandsTest.Run l = ckpt("list", ZERO3);
        assertThat(l.code()).as(l.err()).isZero();
        assertThat(l.out()).contains("global_step4");
    }

    @Test
    void truncatedRankFileIsOneLineNamingTheRank() throws Exception {
        Path c = Fixtures.copyTree(ZERO3, tmp.resolve("c"));
        Path rank1 = c.resolve("global_step4/bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt");
        byte[] b = Files.readAllBytes(rank1);
        Files.write(rank1, java.util.Arrays.copyOf(b, b.length / 3));
        RotationCommandsTest.Run v = ckpt("verify", c);
        assertThat(v.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(v.out()).contains("bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt").contains("rank 1");
        RotationCommandsTest.Run i = ckpt("inspect", c);
        assertThat(i.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(i.err().strip()).doesNotContain("\n").contains("rank 1").doesNotContain("Exception");
    }

    @Test
    void huggingfaceNeedsTheModelsConfig() {
        Path out = tmp.resolve("hf");
        RotationCommandsTest.Run r = ckpt("convert", ZERO3, "--format", "huggingface", "--output-dir", out);
        assertThat(r.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.err().strip()).doesNotContain("\n").contains("config.json").contains("--config");
        assertThat(Files.exists(out)).isFalse();
        RotationCommandsTest.Run ok = ckpt("convert", ZERO3, "--format", "huggingface", "--output-dir", out,
                "--config", ZERO3.resolve("reference"), "--quiet");
        assertThat(ok.code()).as(ok.err()).isZero();
        assertThat(out.resolve("config.json")).exists();
    }
}
