package ckpt.format.dcp;

import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * An interrupt that lands while a thread maps or CRC-checks a record closes the shared {@code FileChannel}
 * (NIO's rule): the record must not be remembered as damaged, and the file must stay readable for the next caller.
 */
class DcpCheckpointInterruptTest {
    @Test
    void anInterruptedCheckIsNeitherCachedNorFatalToTheFile() {
        try (DcpCheckpoint c = DcpCheckpoint.open(Fixtures.path("megatron-llama-tp2/checkpoint/iter_0000004"))) {
            TensorStorageMetadata w = c.metadata().tensors().get("embedding.word_embeddings.weight");
            ChunkStorageMetadata chunk = w.chunks().getFirst();
            Thread.currentThread().interrupt();
            Throwable first;
            try {
                first = catchThrowable(() -> c.chunkView(w, chunk));
            } finally {
                Thread.interrupted();
            }
            assertThat(first).as("the interrupted read fails").isNotNull();
            // the same record, then every chunk of the file, read and checked again without an interrupt
            assertThat(c.chunkView(w, chunk).shape()).containsExactly(chunk.box().sizes());
            for (TensorStorageMetadata t : c.metadata().tensors().values())
                for (ChunkStorageMetadata ch : t.chunks())
                    assertThat(c.chunkView(t, ch).numel()).isEqualTo(ckpt.format.tensor.Shapes.numel(ch.box().sizes()));
        }
    }
}
