package ckpt.convert.exec;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.index.GlobalTensor;
import ckpt.convert.index.TensorPiece;
import ckpt.format.FormatException;
import ckpt.format.tensor.Box;
import ckpt.format.testing.Fixtures;
import ckpt.format.zip.Crc32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The source CRC-32 check folded into the copy (issue 18): a record copied straight from the mapped source is proven
 * by its runs' combined CRC-32 instead of a second read, and a damaged one still fails the conversion — naming file,
 * key and record offset, in one line — before anything is published, whatever the piece size and worker count.
 */
class RecordFoldTest {
    @TempDir
    Path tmp;

    /** Every run of {@code t}, opened through {@code fold}: {piece, storage byte, length, CRC-32}. */
    private static List<Object[]> runs(GlobalTensor t, RecordFold fold) throws IOException {
        List<Object[]> out = new ArrayList<>();
        boolean all = TensorAssembler.forEachStoredRun(t, Box.whole(t.shape()), p -> fold.open(t, p),
                (piece, storageByte, bytes, boxByte) -> {
                    out.add(new Object[]{piece, storageByte, bytes.byteSize(), Crc32.of(bytes)});
                    return true;
                }, () -> { });
        assertThat(all).as("the tensor is stored as runs").isTrue();
        return out;
    }

    /** The reader hands its check over, and the runs, in any order, prove the record without reading it again. */
    @Test
    void runsInAnyOrderProveTheirRecord() throws IOException {
        try (CheckpointIndex index = Checkpoints.open(Fixtures.path("dcp-fsdp2/checkpoint"))) {
            GlobalTensor t = index.tensor("model.embed.weight").orElseThrow();
            RecordFold fold = new RecordFold();
            List<Object[]> runs = runs(t, fold);
            assertThat(runs).hasSize(t.pieces().size());
            for (TensorPiece p : t.pieces()) assertThat(fold.tracks(p)).as("check taken over, not done on open").isTrue();
            // cut each run in three and feed the thirds shuffled, as workers finishing pieces in any order would
            List<Object[]> thirds = new ArrayList<>();
            for (Object[] r : runs) {
                TensorPiece p = (TensorPiece) r[0];
                long at = (long) r[1], n = (long) r[2];
                var bytes = p.source().open().storage().asSlice(at, n);
                long a = n / 3, b = 2 * n / 3;
                thirds.add(new Object[]{p, at, a, Crc32.of(bytes.asSlice(0, a))});
                thirds.add(new Object[]{p, at + a, b - a, Crc32.of(bytes.asSlice(a, b - a))});
                thirds.add(new Object[]{p, at + b, n - b, Crc32.of(bytes.asSlice(b, n - b))});
            }
            Collections.shuffle(thirds, new Random(18));
            for (Object[] r : thirds) fold.copied((TensorPiece) r[0], (long) r[1], (long) r[2], (long) r[3]);
            for (TensorPiece p : t.pieces()) assertThat(fold.tracks(p)).as("proven").isFalse();
            fold.finish();
        }
    }

    /** A wrong run CRC fails; a record not covered by its runs is read by the reader's check at the end. */
    @Test
    void aWrongRunFailsAndAnUncoveredRecordIsReadAtTheEnd() throws IOException {
        Path dir = Fixtures.copyTree(Fixtures.path("dcp-fsdp2/checkpoint"), tmp.resolve("ckpt"));
        long at = RecordCrcTest.flipBitIn(dir, "model.embed.weight");
        try (CheckpointIndex index = Checkpoints.open(dir)) {
            GlobalTensor t = index.tensor("model.embed.weight").orElseThrow();
            RecordFold fold = new RecordFold();
            List<Object[]> runs = runs(t, fold); // the CRCs of the damaged bytes
            Object[] damaged = runs.getFirst();
            assertThatThrownBy(() -> fold.copied((TensorPiece) damaged[0], (long) damaged[1], (long) damaged[2], (long) damaged[3]))
                    .isInstanceOfSatisfying(FormatException.class, e -> {
                        assertThat(e.key()).isEqualTo("model.embed.weight");
                        assertThat(e.getMessage()).contains("CRC-32 mismatch", "record at byte " + at, ".distcp").doesNotContain("\n");
                    });
        }
        try (CheckpointIndex index = Checkpoints.open(dir)) {
            GlobalTensor t = index.tensor("model.embed.weight").orElseThrow();
            RecordFold fold = new RecordFold();
            runs(t, fold); // opened, never reported copied
            assertThatThrownBy(fold::finish).isInstanceOf(FormatException.class).hasMessageContaining("record at byte " + at)
                    .hasMessageContaining("CRC-32 mismatch");
        }
    }

    /** Records checked by the reader (--no-verify: none) are not taken over: nothing to prove, nothing read at the end. */
    @Test
    void nothingIsTakenOverWhenTheReaderDoesNotCheck() throws IOException {
        Path dir = Fixtures.copyTree(Fixtures.path("dcp-fsdp2/checkpoint"), tmp.resolve("ckpt"));
        RecordCrcTest.flipBitIn(dir, "model.embed.weight");
        try (CheckpointIndex index = Checkpoints.open(dir)) {
            index.checkRecords(false);
            GlobalTensor t = index.tensor("model.embed.weight").orElseThrow();
            RecordFold fold = new RecordFold();
            runs(t, fold);
            for (TensorPiece p : t.pieces()) assertThat(fold.tracks(p)).isFalse();
            fold.finish();
        }
    }

    /**
     * End to end: one flipped bit in a record that is copied as runs (a row shard of a DCP chunk, a column-parallel
     * TP shard), cast from its runs, or copied as a column block (a row-parallel TP shard) fails the conversion with the reader's one-line error for every output format, piece size and worker
     * count; nothing is published, no staging dir is left; --no-verify converts.
     */
    @ParameterizedTest
    @CsvSource({
            "dcp-fsdp2/checkpoint, model.embed.weight, PYTORCH, keep",
            "dcp-fsdp2/checkpoint, model.layers.0.up.weight, SAFETENSORS, keep",
            "dcp-fsdp2/checkpoint, model.layers.0.up.weight, SAFETENSORS, bf16",
            "dcp-variety/checkpoint, f32, PYTORCH, keep",
            "megatron-llama-tp2/checkpoint/iter_0000004, embedding.word_embeddings.weight, PYTORCH, keep",
            "megatron-llama-tp2/checkpoint/iter_0000004, embedding.word_embeddings.weight, HUGGINGFACE, keep",
            "megatron-llama-tp2/checkpoint/iter_0000004, decoder.layers.mlp.linear_fc1.weight, SAFETENSORS, keep",
            "megatron-llama-tp2/checkpoint/iter_0000004, decoder.layers.mlp.linear_fc2.weight, PYTORCH, keep",
            "megatron-llama-tp2/checkpoint/iter_0000004, decoder.layers.mlp.linear_fc2.weight, HUGGINGFACE, fp32",
            "megatron-llama-tp2/checkpoint/iter_0000004, decoder.layers.self_attention.linear_qkv.weight, HUGGINGFACE, fp16"})
    void aDamagedRecordCopiedAsRunsFailsBeforePublishing(String fixture, String key, OutputFormat format, String dtype) throws IOException {
        Path dir = Fixtures.copyTree(Fixtures.path(fixture), tmp.resolve("in"));
        long at = RecordCrcTest.flipBitIn(dir, key);
        for (long piece : new long[]{PlanExecutor.DEFAULT_PIECE, 256})
            for (int threads : new int[]{1, 4}) {
                Path out = tmp.resolve("out");
                Converter c = new Converter(new PlanExecutor(piece, threads, TensorKernels.CPU));
                ConvertOptions o = ConvertOptions.of(dir, format, out).withDtype(ckpt.convert.plan.DtypeChoice.parse(dtype));
                assertThatThrownBy(() -> c.convert(o, ConversionListener.NONE))
                        .as("piece %d, %d threads", piece, threads)
                        .isInstanceOfSatisfying(FormatException.class, e -> {
                            assertThat(e.file().getFileName().toString()).endsWith(".distcp");
                            assertThat(e.key()).isEqualTo(key);
                            assertThat(e.getMessage()).contains("CRC-32 mismatch", "record at byte " + at).doesNotContain("\n");
                        });
                try (var s = Files.list(tmp)) {
                    assertThat(s.map(p -> p.getFileName().toString()).toList()).as("nothing published or left").containsExactly("in");
                }
            }
        Path out = tmp.resolve("unchecked");
        new Converter().convert(ConvertOptions.of(dir, format, out).withVerifyRecords(false), ConversionListener.NONE);
        assertThat(out).isDirectory();
    }

    /** A damaged record copied as runs in a --part run: the part fails, writes no marker, and --finish publishes nothing. */
    @Test
    void aDamagedRecordFailsItsPart() throws IOException {
        Path dir = Fixtures.copyTree(Fixtures.path("megatron-llama-tp2/checkpoint/iter_0000004"), tmp.resolve("in"));
        long at = RecordCrcTest.flipBitIn(dir, "embedding.word_embeddings.weight");
        Path out = tmp.resolve("out");
        ConvertOptions o = ConvertOptions.of(dir, OutputFormat.PYTORCH, out);
        PartedConverter parted = new PartedConverter(new PlanExecutor(1024, 2, TensorKernels.CPU));
        List<String> failures = new ArrayList<>();
        for (int i = 1; i <= 2; i++) {
            try {
                parted.part(o, new ckpt.convert.plan.PartSpec(i, 2), ConversionListener.NONE);
            } catch (FormatException e) {
                assertThat(e.getMessage()).contains("CRC-32 mismatch", "record at byte " + at);
                failures.add(e.key());
            }
        }
        assertThat(failures).containsExactly("embedding.word_embeddings.weight");
        assertThatThrownBy(() -> parted.finish(o, ConversionListener.NONE)).isInstanceOf(FormatException.class)
                .hasMessageContaining("nothing was published");
        assertThat(out).doesNotExist();
    }
}
