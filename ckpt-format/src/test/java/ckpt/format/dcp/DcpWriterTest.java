package ckpt.format.dcp;

import ckpt.format.FormatException;
import ckpt.format.pickle.PyDict;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;
import ckpt.format.tensor.StridedView;
import ckpt.format.testing.Fixtures;
import ckpt.format.torchsave.TorchSaveWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** DCP written by {@link DcpWriter}, read back by the independent reader ({@link DcpCheckpoint}). */
class DcpWriterTest {
    /** Test pattern, independent of the writer: byte i of chunk (seed) = (seed·131 + i·31 + 7) mod 256. */
    private static void pattern(MemorySegment seg, int seed) {
        for (long i = 0; i < seg.byteSize(); i++) seg.set(ValueLayout.JAVA_BYTE, i, (byte) (seed * 131 + i * 31 + 7));
    }

    private static byte[] pattern(long n, int seed) {
        byte[] b = new byte[(int) n];
        for (int i = 0; i < n; i++) b[i] = (byte) (seed * 131 + i * 31 + 7);
        return b;
    }

    private static byte[] bytesOf(StridedView v) {
        assertThat(v.isContiguous()).isTrue();
        return v.storage().asSlice(v.offset() * v.dtype().byteSize(), v.byteSize()).toArray(ValueLayout.JAVA_BYTE);
    }

    @Test
    void roundTripThroughTheReader(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("ckpt");
        try (DcpWriter w = DcpWriter.create(dir)) {
            w.storageMeta("/runs/x/iter_0000001", "11111111-2222-3333-4444-555555555555");
            w.addBytes("blob", 0, new byte[]{1, 2, 3});
            PyDict obj = new PyDict();
            obj.put("a", 1L);
            obj.put("b", new ArrayList<>(List.of(1.5, "s")));
            obj.put("t", new TorchSaveWriter.SmallTensor(DType.UINT8, new long[]{3}, new byte[]{9, 8, 7}));
            w.addObject("obj/shard_0_1", 1, List.of(obj));
            long[] shape = {4, 6};
            w.addTensorChunk("w", DType.BFLOAT16, shape, new Box(new long[]{0, 0}, new long[]{2, 6}), 0, s -> pattern(s, 1));
            w.addTensorChunk("w", DType.BFLOAT16, shape, new Box(new long[]{2, 0}, new long[]{2, 6}), 1, s -> pattern(s, 2));
            w.addTensorChunk("v", DType.FLOAT32, new long[]{5}, Box.whole(new long[]{5}), 1, s -> pattern(s, 3));
            w.addTensorChunk("step", DType.FLOAT32, new long[]{}, Box.whole(new long[]{}), 0, s -> pattern(s, 4));
            w.addTensorChunk("empty", DType.INT64, new long[]{0}, Box.whole(new long[]{0}), 0, s -> assertThat(s.byteSize()).isZero());
            w.addTensorChunk("f8", DType.FLOAT8_E4M3FN, new long[]{3}, Box.whole(new long[]{3}), 1, s -> pattern(s, 5));
            w.finish();
        }
        assertThat(dir.resolve(".metadata.tmp")).doesNotExist();
        try (DcpCheckpoint c = DcpCheckpoint.open(dir)) {
            DcpMetadata md = c.metadata();
            assertThat(md.metadataClass()).isEqualTo("torch.distributed.checkpoint.metadata.Metadata");
            assertThat(md.tensors().keySet()).containsExactly("w", "v", "step", "empty", "f8");
            assertThat(md.bytesItems()).containsExactly("blob", "obj/shard_0_1");
            assertThat(md.version()).isEqualTo("1.0.0");
            assertThat(md.checkpointId()).isEqualTo("/runs/x/iter_0000001");
            assertThat(md.saveId()).isEqualTo("11111111-2222-3333-4444-555555555555");

            TensorStorageMetadata w = md.tensors().get("w");
            assertThat(w.dtype()).isEqualTo(DType.BFLOAT16);
            assertThat(w.size()).containsExactly(4, 6);
            assertThat(w.chunks()).extracting(ChunkStorageMetadata::box)
                    .containsExactly(new Box(new long[]{0, 0}, new long[]{2, 6}), new Box(new long[]{2, 0}, new long[]{2, 6}));
            assertThat(md.storageOf("w", w.chunks().get(0)).relativePath()).isEqualTo("__0_0.distcp");
            assertThat(md.storageOf("w", w.chunks().get(1)).relativePath()).isEqualTo("__1_0.distcp");
            assertThat(bytesOf(c.chunkView(w, w.chunks().get(0)))).isEqualTo(pattern(24, 1));
            assertThat(bytesOf(c.chunkView(w, w.chunks().get(1)))).isEqualTo(pattern(24, 2));
            TensorStorageMetadata v = md.tensors().get("v");
            assertThat(bytesOf(c.chunkView(v, v.chunks().getFirst()))).isEqualTo(pattern(20, 3));
            TensorStorageMetadata step = md.tensors().get("step");
            assertThat(step.size()).isEmpty();
            assertThat(bytesOf(c.chunkView(step, step.chunks().getFirst()))).isEqualTo(pattern(4, 4));
            TensorStorageMetadata empty = md.tensors().get("empty");
            assertThat(c.chunkView(empty, empty.chunks().getFirst()).numel()).isZero();
            TensorStorageMetadata f8 = md.tensors().get("f8");
            StridedView f8v = c.chunkView(f8, f8.chunks().getFirst());
            assertThat(f8v.dtype()).isEqualTo(DType.FLOAT8_E4M3FN);
            assertThat(bytesOf(f8v)).isEqualTo(pattern(3, 5));

            StorageInfo blob = md.storageOf("blob");
            assertThat(blob.offset()).isZero(); // bytes first in rank 0's file, as added
            assertThat(c.itemBytes("blob", blob).toArray(ValueLayout.JAVA_BYTE)).containsExactly(1, 2, 3);
            Object payload = c.readObject("obj/shard_0_1");
            assertThat(payload).isInstanceOf(List.class);
            PyDict back = (PyDict) ((List<?>) payload).getFirst();
            assertThat(back.get("a")).isEqualTo(1L);
            assertThat(back.get("b")).isEqualTo(List.of(1.5, "s"));
            assertThat(back.get("t")).isInstanceOf(ckpt.format.torchsave.TensorRef.class);

            // every file is exactly the concatenation of its records (no gaps, nothing after the last)
            for (String f : List.of("__0_0.distcp", "__1_0.distcp")) {
                long sum = md.storage().values().stream().filter(s -> s.relativePath().equals(f)).mapToLong(StorageInfo::length).sum();
                assertThat(Files.size(dir.resolve(f))).as(f).isEqualTo(sum);
            }
        }
    }

    @Test
    void chunkRecordsLookLikeTorchs(@TempDir Path dir) throws IOException {
        // the 8B fixture's item_small.bin is a real record of this very chunk
        try (DcpWriter w = DcpWriter.create(dir)) {
            w.addTensorChunk("decoder.layers.self_attention.linear_qkv.layer_norm_weight", DType.BFLOAT16,
                    new long[]{32, 4096}, new Box(new long[]{1, 0}, new long[]{1, 4096}), 0, s -> pattern(s, 1));
            assertThatThrownBy(w::finish).isInstanceOf(IllegalStateException.class).hasMessageContaining("elements");
        }
        assertThat(dir.resolve(".metadata")).doesNotExist();
        byte[] ref = Files.readAllBytes(Fixtures.path("megatron-llama3-8b-meta/reference/item_small.bin"));
        byte[] ours = Files.readAllBytes(dir.resolve("__0_0.distcp"));
        // no data descriptors (sizes known up front), so the archive is shorter than torch's 704 + 8192 + 873
        assertThat(ours.length).isLessThan(ref.length);
        // identical data.pkl (same tensor rebuild call, byte for byte) at the same place
        assertThat(Arrays.copyOfRange(ours, 64, 64 + 160)).isEqualTo(Arrays.copyOfRange(ref, 64, 64 + 160));
    }

    @Test
    void refusesToOverwriteACheckpoint(@TempDir Path tmp) throws IOException {
        Files.writeString(tmp.resolve(".metadata"), "x");
        assertThatThrownBy(() -> DcpWriter.create(tmp)).isInstanceOf(IOException.class).hasMessageContaining("refusing");
    }

    @Test
    void unfinishedWriteIsAnIncompleteSave(@TempDir Path tmp) throws IOException {
        try (DcpWriter w = DcpWriter.create(tmp)) {
            w.addBytes("x", 0, new byte[]{1});
        }
        assertThatThrownBy(() -> DcpMetadataReader.read(tmp)).isInstanceOf(FormatException.class).hasMessageContaining("incomplete");
    }

    @Test
    void rejectsInconsistentChunks(@TempDir Path tmp) throws IOException {
        try (DcpWriter w = DcpWriter.create(tmp)) {
            w.addTensorChunk("a", DType.FLOAT32, new long[]{4}, new Box(new long[]{0}, new long[]{2}), 0, s -> { });
            assertThatThrownBy(() -> w.addTensorChunk("a", DType.BFLOAT16, new long[]{4}, new Box(new long[]{2}, new long[]{2}), 0, s -> { }))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> w.addTensorChunk("a", DType.FLOAT32, new long[]{4}, new Box(new long[]{3}, new long[]{2}), 0, s -> { }))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> w.addTensorChunk("a", DType.FLOAT32, new long[]{4}, new Box(new long[]{0}, new long[]{2}), 0, s -> { }))
                    .isInstanceOf(IllegalArgumentException.class);
            // overlapping 1-D chunks whose volumes still add up
            w.addTensorChunk("a", DType.FLOAT32, new long[]{4}, new Box(new long[]{1}, new long[]{2}), 0, s -> { });
            assertThatThrownBy(w::finish).isInstanceOf(IllegalStateException.class).hasMessageContaining("overlap");
        }
    }

    /** Re-encodes the real Megatron fixture's .metadata: the reader sees the same checkpoint, the file is the same size class. */
    @Test
    void reencodesTheRealMegatronMetadata(@TempDir Path tmp) throws IOException {
        Path iter = Fixtures.path("megatron-llama-tp2/checkpoint/iter_0000004");
        DcpMetadata real = DcpMetadataReader.read(iter);
        DcpMetadataWriter mw = new DcpMetadataWriter().storageMeta(real.checkpointId(), real.saveId()).version(real.version());
        // tensors and bytes items in state_dict_metadata order
        List<String> order = new ArrayList<>();
        Fixtures.json(Fixtures.path("megatron-llama-tp2/reference/iter_0000004/dcp_metadata.json"))
                .get("state_dict_metadata").fieldNames().forEachRemaining(order::add);
        for (String k : order) {
            TensorStorageMetadata t = real.tensors().get(k);
            if (t == null) mw.addBytes(k);
            else for (ChunkStorageMetadata c : t.chunks()) mw.addChunk(k, t.dtype(), t.size(), c.box());
        }
        for (Map.Entry<MetadataIndex, StorageInfo> e : real.storage().entrySet())
            mw.addStorage(e.getKey().fqn(), e.getKey().offset(), e.getValue());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        mw.write(out);
        byte[] ours = out.toByteArray();
        if (System.getProperty("dump") != null) Files.write(Path.of(System.getProperty("dump")), ours);
        assertThat(ours[0] & 0xFF).isEqualTo(0x80);
        assertThat(ours[1]).isEqualTo((byte) 4);
        Path copy = tmp;
        Files.write(copy.resolve(".metadata"), ours);
        DcpMetadata back = DcpMetadataReader.read(copy);
        assertThat(back.tensors().keySet()).containsExactlyElementsOf(real.tensors().keySet());
        assertThat(back.bytesItems()).containsExactlyElementsOf(real.bytesItems());
        for (TensorStorageMetadata t : real.tensors().values()) {
            TensorStorageMetadata b = back.tensors().get(t.fqn());
            assertThat(b.dtype()).isEqualTo(t.dtype());
            assertThat(b.size()).isEqualTo(t.size());
            assertThat(b.chunks()).isEqualTo(t.chunks());
        }
        assertThat(back.storage()).isEqualTo(real.storage());
        assertThat(back.version()).isEqualTo(real.version());
        assertThat(back.checkpointId()).isEqualTo(real.checkpointId());
        // CPython's layout differs only in FRAME opcodes, a few string memo hits and index hints: within 2% of 35,731 bytes
        assertThat((double) ours.length).isCloseTo(Files.size(iter.resolve(".metadata")), org.assertj.core.data.Percentage.withPercentage(2));
    }
}
