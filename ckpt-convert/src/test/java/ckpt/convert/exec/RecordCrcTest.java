package ckpt.convert.exec;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.index.GlobalTensor;
import ckpt.convert.index.TensorPiece;
import ckpt.format.FormatException;
import ckpt.format.testing.Fixtures;
import ckpt.format.zip.ZipArchive;
import ckpt.format.zip.ZipEntryInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Issue #12 item 2: one flipped bit in a tensor record fails the conversion by default, naming file, key and offset. */
class RecordCrcTest {
    @TempDir
    Path tmp;

    /** Flips one bit in the middle of the stored data of the first chunk of {@code key}; returns the record's offset. */
    static long flipBitIn(Path dir, String key) throws IOException {
        String file;
        long dataAt, recordAt;
        try (CheckpointIndex index = Checkpoints.open(dir); Arena arena = Arena.ofConfined()) {
            GlobalTensor t = index.tensor(key).orElseThrow();
            TensorPiece p = t.pieces().getFirst();
            file = p.source().file();
            recordAt = p.source().offset();
            ZipArchive zip = ZipArchive.open(dir.resolve(file), Fixtures.map(dir.resolve(file), recordAt, p.source().length(), arena));
            ZipEntryInfo data = zip.entries().stream().filter(e -> e.name().contains("/data/") && e.size() > 0).findFirst().orElseThrow();
            dataAt = recordAt + data.dataOffset() + data.size() / 2;
        }
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve(file).toFile(), "rw")) {
            f.seek(dataAt);
            int b = f.read();
            f.seek(dataAt);
            f.write(b ^ 0x10);
        }
        return recordAt;
    }

    @Test
    void aFlippedBitFailsTheConversionUnlessVerificationIsOff() throws IOException {
        Path dir = Fixtures.copyTree(Fixtures.path("megatron-llama-tp2/checkpoint/iter_0000004"), tmp.resolve("iter_0000004"));
        String key = "decoder.layers.mlp.linear_fc2.weight";
        long at = flipBitIn(dir, key);
        Path out = tmp.resolve("out");
        assertThatThrownBy(() -> new Converter().convert(ConvertOptions.of(dir, OutputFormat.PYTORCH, out), ConversionListener.NONE))
                .isInstanceOfSatisfying(FormatException.class, e -> {
                    assertThat(e.file().getFileName().toString()).endsWith(".distcp");
                    assertThat(e.key()).isEqualTo(key);
                    assertThat(e.getMessage()).contains("CRC-32 mismatch").contains("record at byte " + at).doesNotContain("\n");
                });
        assertThat(out).doesNotExist();

        new Converter().convert(ConvertOptions.of(dir, OutputFormat.PYTORCH, out).withVerifyRecords(false), ConversionListener.NONE);
        assertThat(out.resolve("model.pt")).exists();
    }

    /**
     * Each record's CRC is read once per conversion, not once per output piece (a record is opened by every piece
     * cut from it): with 4 KiB pieces on 4 workers, the pieces waiting on the first check still all fail with it.
     */
    @Test
    void aFlippedBitFailsEveryPieceOfItsRecordWhenManyWorkersShareIt() throws IOException {
        Path dir = Fixtures.copyTree(Fixtures.path("megatron-llama-tp2/checkpoint/iter_0000004"), tmp.resolve("iter_0000004"));
        String key = "embedding.word_embeddings.weight";
        long at = flipBitIn(dir, key);
        Path out = tmp.resolve("out");
        Converter small = new Converter(new PlanExecutor(4096, 4, TensorKernels.CPU));
        assertThatThrownBy(() -> small.convert(ConvertOptions.of(dir, OutputFormat.PYTORCH, out), ConversionListener.NONE))
                .isInstanceOfSatisfying(FormatException.class, e -> {
                    assertThat(e.key()).isEqualTo(key);
                    assertThat(e.getMessage()).contains("CRC-32 mismatch").contains("record at byte " + at);
                });
        assertThat(out).doesNotExist();
    }

    @Test
    void aFlippedBitInATorchSaveFileFailsToo() throws IOException {
        Path dir = Fixtures.copyTree(Fixtures.path("megatron-llama-tp2-legacy-torch/checkpoint/iter_0000004"), tmp.resolve("iter_0000004"));
        Path rank = dir.resolve("mp_rank_00/model_optim_rng.pt");
        long dataAt;
        try (Arena arena = Arena.ofConfined()) {
            ZipArchive zip = ZipArchive.open(rank, Fixtures.map(rank, arena));
            ZipEntryInfo biggest = zip.entries().stream().filter(e -> e.name().contains("/data/"))
                    .max(java.util.Comparator.comparingLong(ZipEntryInfo::size)).orElseThrow();
            dataAt = biggest.dataOffset() + biggest.size() / 2;
        }
        try (RandomAccessFile f = new RandomAccessFile(rank.toFile(), "rw")) {
            f.seek(dataAt);
            int b = f.read();
            f.seek(dataAt);
            f.write(b ^ 1);
        }
        assertThatThrownBy(() -> new Converter().convert(ConvertOptions.of(dir, OutputFormat.PYTORCH, tmp.resolve("o")), ConversionListener.NONE))
                .isInstanceOf(FormatException.class).hasMessageContaining("model_optim_rng.pt").hasMessageContaining("CRC-32 mismatch");
    }
}
