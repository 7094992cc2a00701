package ckpt.format.dcp;

import ckpt.format.pickle.PyDict;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;
import ckpt.format.torchsave.TorchSaveWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A save laid out up front ({@link DcpLayout}) and its items written in any order, each at its planned place, gives
 * the same files byte for byte as {@link DcpWriter} appending the same items (whose output the reader tests check
 * against torch's): archive lengths are known before writing, and archives do not depend on where they sit.
 */
class DcpLayoutTest {
    private static void pattern(MemorySegment seg, int seed) {
        for (long i = 0; i < seg.byteSize(); i++) seg.set(ValueLayout.JAVA_BYTE, i, (byte) (seed * 131 + i * 31 + 7));
    }

    private record Spec(String fqn, int rank, Object value, DType dtype, long[] global, Box box) {
    }

    private static List<Spec> specs() {
        PyDict obj = new PyDict();
        obj.put("a", 1L);
        obj.put("t", new TorchSaveWriter.SmallTensor(DType.UINT8, new long[]{3}, new byte[]{9, 8, 7}));
        long[] w = {4, 6};
        return List.of(
                new Spec("common_state/shard_0_1", 0, List.of(obj), null, null, null),
                new Spec("extra/shard_0_2", 1, java.util.Arrays.asList((Object) null), null, null, null),
                new Spec("w", 0, null, DType.BFLOAT16, w, new Box(new long[]{0, 0}, new long[]{2, 6})),
                new Spec("w", 1, null, DType.BFLOAT16, w, new Box(new long[]{2, 0}, new long[]{2, 6})),
                new Spec("big", 1, null, DType.FLOAT32, new long[]{70_000}, Box.whole(new long[]{70_000})),
                new Spec("step", 0, null, DType.FLOAT32, new long[]{}, Box.whole(new long[]{})),
                new Spec("empty", 0, null, DType.FLOAT16, new long[]{0, 3}, Box.whole(new long[]{0, 3})));
    }

    @Test
    void itemsWrittenAtTheirPlacesInAnyOrder_equalTheAppendedSave(@TempDir Path tmp) throws IOException {
        String id = "/runs/x/release", save = "11111111-2222-3333-4444-555555555555";
        Path appended = tmp.resolve("appended");
        try (DcpWriter w = DcpWriter.create(appended)) {
            w.storageMeta(id, save);
            int seed = 0;
            for (Spec s : specs()) {
                int k = seed++;
                if (s.value() != null) w.addObject(s.fqn(), s.rank(), s.value());
                else w.addTensorChunk(s.fqn(), s.dtype(), s.global(), s.box(), s.rank(), seg -> pattern(seg, k));
            }
            w.finish();
        }

        DcpLayout layout = new DcpLayout();
        for (Spec s : specs()) {
            if (s.value() != null) layout.addObject(s.fqn(), s.rank(), s.value());
            else layout.addTensorChunk(s.fqn(), s.dtype(), s.global(), s.box(), s.rank());
        }
        Path placed = tmp.resolve("placed");
        Files.createDirectories(placed);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < specs().size(); i++) order.add(i);
        Collections.reverse(order); // last item first: nothing may depend on the items before it
        for (int i : order) {
            DcpLayout.Item it = layout.items().get(i);
            try (FileChannel ch = FileChannel.open(placed.resolve(it.at().relativePath()), StandardOpenOption.CREATE,
                    StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                switch (it) {
                    case DcpLayout.Bytes b -> ch.write(ByteBuffer.wrap(b.archive()), b.at().offset());
                    case DcpLayout.Chunk c -> {
                        int k = i;
                        Consumer<MemorySegment> fill = seg -> pattern(seg, k);
                        long n = TorchSaveWriter.writeTensor(placed.resolve(c.at().relativePath()), ch, c.at().offset(), c.dtype(),
                                c.box().sizes(), fill);
                        assertThat(n).as("planned length of " + c.fqn()).isEqualTo(c.at().length());
                    }
                }
            }
        }
        layout.writeMetadata(placed, id, save);

        assertThat(layout.fileLengths()).containsOnlyKeys("__0_0.distcp", "__1_0.distcp");
        for (var f : layout.fileLengths().entrySet()) {
            assertThat(Files.size(placed.resolve(f.getKey()))).isEqualTo(f.getValue());
            assertThat(Files.readAllBytes(placed.resolve(f.getKey()))).as(f.getKey()).isEqualTo(Files.readAllBytes(appended.resolve(f.getKey())));
        }
        assertThat(Files.readAllBytes(placed.resolve(".metadata"))).isEqualTo(Files.readAllBytes(appended.resolve(".metadata")));
        try (DcpCheckpoint c = DcpCheckpoint.open(placed)) {
            assertThat(c.metadata().tensors()).containsKeys("w", "big", "step", "empty");
            assertThat(c.metadata().bytesItems()).containsExactly("common_state/shard_0_1", "extra/shard_0_2");
            assertThat(c.metadata().checkpointId()).isEqualTo(id);
        }
    }

    @Test
    void aBadItemFailsWhenAdded() {
        DcpLayout l = new DcpLayout();
        l.addTensorChunk("w", DType.FLOAT32, new long[]{4}, new Box(new long[]{0}, new long[]{2}), 0);
        assertThatThrownBy(() -> l.addTensorChunk("w", DType.FLOAT32, new long[]{4}, new Box(new long[]{0}, new long[]{2}), 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("two chunks");
        assertThatThrownBy(() -> l.addTensorChunk("w", DType.FLOAT32, new long[]{4}, new Box(new long[]{3}, new long[]{2}), 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not inside");
    }
}
