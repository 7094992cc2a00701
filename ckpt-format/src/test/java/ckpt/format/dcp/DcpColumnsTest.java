package ckpt.format.dcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ckpt.format.FormatException;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;
import ckpt.format.torchsave.TorchGlobals;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The columnar decoding of a DCP {@code .metadata} (chunk boxes, storage keys and records as rows) on a generated
 * metadata large enough to grow every column and table many times, against the generic value-graph decoding; and
 * the record checks the columnar path makes, each a one-line error naming the {@code .metadata}.
 */
class DcpColumnsTest {
    @TempDir
    Path dir;

    @Test
    void generatedLargeMetadataDecodesAsTheGenericPath() throws IOException {
        DcpMetadataWriter w = new DcpMetadataWriter();
        int files = 97;
        long[] fileEnd = new long[files];
        // a 2-D weight in 600 row blocks × 4 column blocks, 1-D buckets in 20,000 chunks, and bytes items
        long[] shape = {600 * 8, 4 * 16};
        int n = 0;
        for (int r = 0; r < 600; r++) {
            for (int c = 0; c < 4; c++) {
                Box b = new Box(new long[] {r * 8L, c * 16L}, new long[] {8, 16});
                w.addChunk("decoder.weight", DType.BFLOAT16, shape, b);
                int f = n++ % files;
                w.addStorage("decoder.weight", b.offsets(), new StorageInfo("__" + f + "_0.distcp", fileEnd[f], 256, List.of()));
                fileEnd[f] += 256;
            }
        }
        for (int i = 0; i < 20_000; i++) {
            Box b = new Box(new long[] {i * 100L}, new long[] {100});
            w.addChunk("optimizer.exp_avg.bucket", DType.FLOAT32, new long[] {2_000_000}, b);
            int f = n++ % files;
            w.addStorage("optimizer.exp_avg.bucket", b.offsets(), new StorageInfo("__" + f + "_0.distcp", fileEnd[f], 400,
                    i % 1000 == 0 ? List.of("zstd") : List.of()));
            fileEnd[f] += 400;
        }
        for (int i = 0; i < 300; i++) {
            w.addBytes("common/item_" + i);
            w.addStorage("common/item_" + i, null, new StorageInfo("__" + (i % files) + "_0.distcp", fileEnd[i % files], 7, List.of()));
            fileEnd[i % files] += 7;
        }
        w.writeFile(dir);
        Path file = dir.resolve(".metadata");

        DcpMetadata fast = DcpMetadataReader.read(dir);
        DcpMetadata generic = DcpMetadataReader.decode(file, TorchGlobals.reader(file).build().read(Files.readAllBytes(file)));
        DcpMetadataFastPathTest.assertSame(file, generic, fast);
        assertThat(fast.storage()).hasSize(2400 + 20_000 + 300);
        assertThat(List.copyOf(fast.storage().values())).isEqualTo(fast.storage().entrySet().stream().map(java.util.Map.Entry::getValue).toList());
        TensorStorageMetadata bucket = fast.tensors().get("optimizer.exp_avg.bucket");
        assertThat(bucket.chunks()).hasSize(20_000);
        ChunkStorageMetadata c = bucket.chunks().get(12_345);
        assertThat(c.box().offsets()).containsExactly(1_234_500L);
        assertThat(c.storage().length()).isEqualTo(400);
        assertThat(bucket.chunks().get(3000).storage().transforms()).containsExactly("zstd");
        assertThat(fast.storageOf("common/item_299").length()).isEqualTo(7);
    }

    /**
     * A protocol-2 stream (memo indices by BINPUT) makes the reader give up its guess of which memo entries are read
     * and read again after a scan of them: the result is still the generic path's.
     */
    @Test
    void protocolTwoMetadataIsReadAgainAfterTheMemoScanAndDecodesAsTheGenericPath() throws IOException {
        DcpMetadataWriter w = new DcpMetadataWriter();
        long[] shape = {64, 8};
        for (int r = 0; r < 16; r++) {
            Box b = new Box(new long[] {r * 4L, 0}, new long[] {4, 8});
            w.addChunk("w", DType.FLOAT32, shape, b);
            w.addStorage("w", b.offsets(), new StorageInfo("__" + (r % 3) + "_0.distcp", 128L * (r / 3), 128, List.of()));
        }
        Path file = dir.resolve(".metadata");
        try (var out = Files.newOutputStream(file)) {
            w.write(out, 2);
        }
        byte[] bytes = Files.readAllBytes(file);
        assertThat(bytes[1]).isEqualTo((byte) 2);
        assertThatThrownBy(() -> PickledRecords.register(TorchGlobals.reader(file), new DcpColumns()).guessMemoReads(true)
                .build().read(bytes)).isInstanceOf(ckpt.format.pickle.PickleReader.GuessMissed.class);
        DcpMetadata read = DcpMetadataReader.read(dir);
        DcpMetadata generic = DcpMetadataReader.decode(file, TorchGlobals.reader(file).build().read(bytes));
        DcpMetadataFastPathTest.assertSame(file, generic, read);
        assertThat(read.tensors().get("w").chunks()).hasSize(16);
        assertThat(read.tensors().get("w").chunks().get(15).storage()).isEqualTo(new StorageInfo("__0_0.distcp", 640, 128, List.of()));
    }

    private Path metadataWith(StorageInfo info) throws IOException {
        DcpMetadataWriter w = new DcpMetadataWriter();
        Box whole = new Box(new long[] {0}, new long[] {4});
        w.addChunk("w", DType.FLOAT32, new long[] {4}, whole);
        w.addStorage("w", whole.offsets(), info);
        w.addChunk("v", DType.FLOAT32, new long[] {4}, whole);
        w.addStorage("v", whole.offsets(), new StorageInfo("__0_0.distcp", 16, 16, List.of()));
        w.writeFile(dir);
        return dir;
    }

    @Test
    void negativeStorageOffsetIsAnErrorNamingTheMetadata() throws IOException {
        Path d = metadataWith(new StorageInfo("__0_0.distcp", -1, 16, List.of()));
        assertThatThrownBy(() -> DcpMetadataReader.read(d)).isInstanceOf(FormatException.class)
                .hasMessageContaining(".metadata").hasMessageContaining("negative storage offset or length").hasMessageNotContaining("\n");
    }

    @Test
    void negativeStorageLengthIsAnError() throws IOException {
        Path d = metadataWith(new StorageInfo("__0_0.distcp", 0, -16, List.of()));
        assertThatThrownBy(() -> DcpMetadataReader.read(d)).isInstanceOf(FormatException.class)
                .hasMessageContaining(".metadata").hasMessageContaining("negative storage offset or length");
    }

    @Test
    void storageRecordEndingPast2To63IsAnErrorAsOnTheGenericPath() throws IOException {
        // offset + length overflows a long: a row made at BUILD must be refused like a generic record
        for (StorageInfo info : List.of(new StorageInfo("__0_0.distcp", Long.MAX_VALUE - 10, 11, List.of()),
                new StorageInfo("__0_0.distcp", 1L << 62, 1L << 62, List.of()), new StorageInfo("__0_0.distcp", 16, Long.MAX_VALUE, List.of()))) {
            Path d = metadataWith(info);
            Path file = d.resolve(".metadata");
            assertThatThrownBy(() -> DcpMetadataReader.decode(file, TorchGlobals.reader(file).build().read(Files.readAllBytes(file))))
                    .hasMessageContaining("ends past 2^63");
            assertThatThrownBy(() -> DcpMetadataReader.read(d)).isInstanceOf(FormatException.class)
                    .hasMessage(file + ": storage record of " + info.length() + " bytes at byte " + info.offset() + " ends past 2^63 (key w[0])");
        }
    }

    @Test
    void storageFileOutsideTheDirectoryIsAnError() throws IOException {
        Path d = metadataWith(new StorageInfo("../__0_0.distcp", 0, 16, List.of()));
        assertThatThrownBy(() -> DcpMetadataReader.read(d)).isInstanceOf(FormatException.class)
                .hasMessageContaining(".metadata").hasMessageContaining("leaves the checkpoint directory");
    }

    @Test
    void storageFileWithAControlCharacterIsAnErrorEvenWhenItsNameRecurs() throws IOException {
        // the second record names a file already checked clean: names are checked once each, never skipped
        DcpMetadataWriter w = new DcpMetadataWriter();
        for (int i = 0; i < 3; i++) {
            Box b = new Box(new long[] {i * 4L}, new long[] {4});
            w.addChunk("w", DType.FLOAT32, new long[] {12}, b);
            w.addStorage("w", b.offsets(), new StorageInfo(i == 2 ? "__0\u0001.distcp" : "__0_0.distcp", i * 16L, 16, List.of()));
        }
        w.writeFile(dir);
        assertThatThrownBy(() -> DcpMetadataReader.read(dir)).isInstanceOf(FormatException.class)
                .hasMessageContaining(".metadata").hasMessageContaining("control character");
    }
}
