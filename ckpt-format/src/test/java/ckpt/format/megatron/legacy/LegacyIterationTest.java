package ckpt.format.megatron.legacy;

import ckpt.format.FormatException;
import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The TP=2 legacy fixture, and damaged copies of it (pickle values patched in place in a temp copy). */
class LegacyIterationTest {
    private static Path fixture() {
        return Fixtures.path("megatron-llama-tp2-legacy-torch/checkpoint/iter_0000004");
    }

    @Test
    void opensTheFixture() {
        try (LegacyIteration it = LegacyIteration.open(fixture())) {
            assertThat(it.rankDirNames()).containsExactly("mp_rank_00", "mp_rank_01");
            assertThat(it.rank(1, 0, 0).dirName()).isEqualTo("mp_rank_01");
            assertThat(it.tensorParallel()).isEqualTo(2);
            assertThat(it.pipelineParallel()).isEqualTo(1);
            assertThat(it.expertParallel()).isEqualTo(1);
            assertThat(it.iteration()).isEqualTo(4L);
            assertThat(it.checkpointVersion()).isEqualTo(3.0);
            assertThat(it.hasDistributedOptimizerState()).isTrue();
            assertThat(it.args().getLong("hidden_size")).contains(64L);
            assertThat(it.pipelineSplit().chunksPerStage()).isEqualTo(1);
            // files.json: 27 model tensors per rank (26 weights + output layer) and 17 _extra_state entries.
            assertThat(it.rank(0, 0, 0).modelChunks(1).getFirst().size()).isEqualTo(27 + 17);
            assertThat(it.era()).isEqualTo("Megatron legacy torch (checkpoint_version 3.0)");
        }
        assertThat(LegacyIteration.isLegacyIteration(fixture())).isTrue();
        assertThat(LegacyIteration.isLegacyIteration(fixture().getParent())).isFalse();
    }

    @Test
    void ranksDisagreeingOnArgsAreNamed(@TempDir Path tmp) throws IOException {
        Path iter = copy(tmp);
        // args.hidden_size is pickled as X<len>"hidden_size" BINPUT K 0x40 (64): make rank 1 say 32.
        patchAfterKey(iter.resolve("mp_rank_01/model_optim_rng.pt"), "hidden_size", new byte[]{'K', 0x40}, new byte[]{'K', 0x20});
        assertThatThrownBy(() -> LegacyIteration.open(iter)).isInstanceOf(FormatException.class)
                .hasMessageContaining("mp_rank_00 and mp_rank_01 disagree on args.hidden_size (64 vs 32)");
    }

    @Test
    void checkpointVersionBelowTwoIsRefused(@TempDir Path tmp) throws IOException {
        Path iter = copy(tmp);
        byte[] three = {'G', 0x40, 0x08, 0, 0, 0, 0, 0, 0};   // BINFLOAT 3.0, big-endian
        byte[] one = {'G', 0x3f, (byte) 0xf0, 0, 0, 0, 0, 0, 0}; // 1.0
        for (String r : new String[]{"mp_rank_00", "mp_rank_01"})
            patchAfterKey(iter.resolve(r + "/model_optim_rng.pt"), "checkpoint_version", three, one);
        assertThatThrownBy(() -> LegacyIteration.open(iter)).isInstanceOf(FormatException.class)
                .hasMessageContaining("checkpoint_version 1.0 < 2.0").hasMessageContaining("mp_rank_00");
    }

    @Test
    void missingModelFileIsNamed(@TempDir Path tmp) throws IOException {
        Path iter = copy(tmp);
        Files.delete(iter.resolve("mp_rank_01/model_optim_rng.pt"));
        assertThatThrownBy(() -> LegacyIteration.open(iter)).isInstanceOf(FormatException.class)
                .hasMessageContaining("mp_rank_01").hasMessageContaining("model_optim_rng.pt");
    }

    @Test
    void missingRankZeroIsNamed(@TempDir Path tmp) throws IOException {
        Path iter = copy(tmp);
        Fixtures.deleteTree(iter.resolve("mp_rank_00"));
        assertThatThrownBy(() -> LegacyIteration.open(iter)).isInstanceOf(FormatException.class)
                .hasMessageContaining("rank directory mp_rank_00 missing");
    }

    private static Path copy(Path tmp) throws IOException {
        return Fixtures.copyTree(fixture(), tmp.resolve("iter_0000004"));
    }

    /** Replaces the value pickled right after the dict key {@code name} (skipping its BINPUT/LONG_BINPUT). */
    private static void patchAfterKey(Path file, String name, byte[] expected, byte[] replacement) throws IOException {
        byte[] d = Files.readAllBytes(file);
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        byte[] pat = new byte[5 + n.length];
        pat[0] = 'X';
        pat[1] = (byte) n.length;
        System.arraycopy(n, 0, pat, 5, n.length);
        int at = indexOf(d, pat);
        assertThat(at).as("key " + name + " in " + file).isNotNegative();
        int v = at + pat.length;
        v += d[v] == 'q' ? 2 : d[v] == 'r' ? 5 : 0;
        assertThat(Arrays.copyOfRange(d, v, v + expected.length)).as("value of " + name).isEqualTo(expected);
        System.arraycopy(replacement, 0, d, v, replacement.length);
        Files.write(file, d);
    }

    private static int indexOf(byte[] d, byte[] pat) {
        outer:
        for (int i = 0; i + pat.length <= d.length; i++) {
            for (int j = 0; j < pat.length; j++) if (d[i + j] != pat[j]) continue outer;
            return i;
        }
        return -1;
    }
}
