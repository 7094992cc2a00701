package ckpt.convert.analysis;

import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** verify on DeepSpeed checkpoints: intact fixtures, and damaged copies whose problem names the rank. */
class VerifierDeepSpeedTest {
    static final String ZERO3 = "deepspeed-zero3-llama-dp2";
    static final String RANK1_OPTIM = "global_step4/bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt";

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"deepspeed-zero1-gpt2-fp16", ZERO3, "deepspeed-zero2-llama-dp2-universal",
            ZERO3 + "/global_step4"})
    void intactCheckpointsAreSound(String fixture) {
        for (boolean deep : new boolean[]{false, true}) {
            VerifyReport r = new Verifier(deep, VerifyProgress.NONE).verify(Fixtures.path(fixture));
            assertThat(r.problems()).as(fixture + (deep ? " --deep" : "")).isEmpty();
            assertThat(r.format()).isEqualTo("deepspeed_zero");
            if (deep) assertThat(r.checks().crcEntries()).isPositive();
        }
    }

    private Path copy() throws Exception {
        return Fixtures.copyTree(Fixtures.path(ZERO3), tmp.resolve("ckpt"));
    }

    @Test
    void missingRankFileIsNamed() throws Exception {
        Path c = copy();
        Files.delete(c.resolve(RANK1_OPTIM));
        VerifyReport r = new Verifier(false, VerifyProgress.NONE).verify(c);
        assertThat(r.sound()).isFalse();
        assertThat(r.problems()).singleElement().satisfies(p -> {
            assertThat(p.file()).endsWith("bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt");
            assertThat(p.what()).contains("rank 1").contains("missing").contains("world size 2");
        });
    }

    @Test
    void missingModelStatesOfARankIsNamed() throws Exception {
        Path c = copy();
        Files.delete(c.resolve("global_step4/zero_pp_rank_1_mp_rank_00_model_states.pt"));
        VerifyReport r = new Verifier(false, VerifyProgress.NONE).verify(c);
        assertThat(r.problems()).singleElement().satisfies(p -> assertThat(p.toString()).contains("rank 1").contains("model states"));
    }

    @Test
    void truncatedRankFileIsNamed() throws Exception {
        Path c = copy();
        try (RandomAccessFile f = new RandomAccessFile(c.resolve(RANK1_OPTIM).toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        VerifyReport r = new Verifier(false, VerifyProgress.NONE).verify(c);
        assertThat(r.sound()).isFalse();
        assertThat(r.problems()).singleElement().satisfies(p -> {
            assertThat(p.file()).endsWith("bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt");
            assertThat(p.toString()).contains("rank 1");
        });
    }

    @Test
    void flippedByteFailsOnlyDeepVerify() throws Exception {
        Path c = copy();
        Path f = c.resolve(RANK1_OPTIM);
        byte[] b = Files.readAllBytes(f);
        b[b.length / 2] ^= 0x55; // inside the fp32 partition's payload
        Files.write(f, b);
        assertThat(new Verifier(false, VerifyProgress.NONE).verify(c).sound()).isTrue();
        VerifyReport deep = new Verifier(true, VerifyProgress.NONE).verify(c);
        assertThat(deep.sound()).isFalse();
        assertThat(deep.problems()).singleElement().satisfies(p -> {
            assertThat(p.file()).endsWith("bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt");
            assertThat(p.what()).contains("CRC-32 mismatch");
        });
    }

    @Test
    void saveDirWithoutLatestIsFlagged() throws Exception {
        Path c = copy();
        Files.delete(c.resolve("latest"));
        VerifyReport r = new Verifier(false, VerifyProgress.NONE).verify(c);
        assertThat(r.problems()).singleElement().satisfies(p -> assertThat(p.what()).contains("no 'latest' file"));
    }

    @Test
    void latestNamingAMissingTagIsFlagged() throws Exception {
        Path c = copy();
        Files.writeString(c.resolve("latest"), "global_step8");
        VerifyReport r = new Verifier(false, VerifyProgress.NONE).verify(c);
        assertThat(r.sound()).isFalse();
        assertThat(r.problems()).singleElement().satisfies(p -> assertThat(p.what()).contains("global_step8"));
    }
}
