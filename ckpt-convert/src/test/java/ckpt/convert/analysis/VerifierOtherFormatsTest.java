package ckpt.convert.analysis;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.index.LegacyIndexer;
import ckpt.convert.index.LegacyReplica;
import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** verify on the non-DCP readers: torch.save files, safetensors dirs, legacy Megatron shards. */
class VerifierOtherFormatsTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"torch-save/files/zip_nested.pt", "torch-save/files/legacy_nonzip.pt",
            "torch-save/files/zip_dtypes.pt", "megatron-llama-tp2-legacy-torch/checkpoint"})
    void intactFilesAreSound(String fixture) {
        for (boolean deep : new boolean[]{false, true}) {
            VerifyReport r = new Verifier(deep, VerifyProgress.NONE).verify(Fixtures.path(fixture));
            assertThat(r.problems()).as(fixture + (deep ? " --deep" : "")).isEmpty();
            assertThat(r.sound()).isTrue();
        }
    }

    @Test
    void indexEntriesNoShardHoldsAreReported() {
        // PyTorch's HuggingFaceStorageWriter with 2 ranks and one file name: rank 1's tensors never reached the shard.
        VerifyReport r = new Verifier(false, VerifyProgress.NONE).verify(Fixtures.path("dcp-variety-hf/checkpoint"));
        assertThat(r.sound()).isFalse();
        assertThat(r.problems()).extracting(Problem::key).containsExactlyInAnyOrder("f16", "bf16", "i64", "transposed");
        assertThat(r.problems()).allSatisfy(p -> assertThat(p.file()).endsWith("model.safetensors.index.json"));
    }

    @Test
    void flippedByteInATpReplicaIsFoundByDeepVerify() throws IOException {
        Path src = Fixtures.path("megatron-llama-tp2-legacy-torch/checkpoint");
        Path dst = Fixtures.copyTree(src, tmp.resolve("save"));
        LegacyReplica replica;
        long elementOffset;
        try (CheckpointIndex index = Checkpoints.open(dst)) {
            replica = LegacyIndexer.replicas(index).getFirst();
            // Megatron's params are views into one flat buffer: find this tensor's first element in the storage.
            elementOffset = replica.piece().source().open().offset();
        }
        Path file = dst.resolve("iter_0000004").resolve(replica.piece().source().file());
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            long at = replica.piece().source().offset() + elementOffset * 2 + 1; // high byte of its first bf16 element
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x40);
        }
        assertThat(new Verifier(false, VerifyProgress.NONE).verify(dst).sound()).isTrue(); // structure is intact
        VerifyReport deep = new Verifier(true, VerifyProgress.NONE).verify(dst);
        assertThat(deep.sound()).isFalse();
        assertThat(deep.problems()).anySatisfy(p -> {
            assertThat(p.key()).isEqualTo(replica.key());
            assertThat(p.what()).contains("replica on " + replica.rank()).contains("differs");
        });
    }
}
