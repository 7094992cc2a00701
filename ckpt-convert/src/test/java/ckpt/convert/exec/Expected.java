package ckpt.convert.exec;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.index.GlobalTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reference values for converter tests: each global tensor assembled by the proven reader (ReferenceTensorsTest ties
 * it to PyTorch's sha256s) as a plain byte array, plus row arithmetic done here, independently of the mapping code.
 */
final class Expected {
    final Map<String, byte[]> bytes = new LinkedHashMap<>();
    final Map<String, long[]> shapes = new LinkedHashMap<>();
    final Map<String, Integer> elementSize = new LinkedHashMap<>();

    static Expected of(Path checkpoint) {
        Expected e = new Expected();
        try (CheckpointIndex index = Checkpoints.open(checkpoint); Arena arena = Arena.ofConfined()) {
            for (GlobalTensor t : index.tensors()) {
                MemorySegment seg = arena.allocate(Math.max(1, t.byteSize())).asSlice(0, t.byteSize());
                TensorAssembler.assemble(t, seg);
                e.bytes.put(t.key(), seg.toArray(ValueLayout.JAVA_BYTE));
                e.shapes.put(t.key(), t.shape());
                e.elementSize.put(t.key(), t.dtype().byteSize());
            }
        }
        return e;
    }

    /** Bytes of one row-major row block: rows {@code [from, from+count)} of axis {@code axis}'s sub-tensor at outer index. */
    byte[] rows(String key, long outer, long from, long count) {
        long[] s = shapes.get(key);
        int es = elementSize.get(key);
        // s = [outer?, rows, rest...]; outer < 0 means no stacked axis
        int rowAxis = outer < 0 ? 0 : 1;
        long rest = 1;
        for (int i = rowAxis + 1; i < s.length; i++) rest *= s[i];
        long rowsTotal = s[rowAxis];
        long base = (outer < 0 ? 0 : outer * rowsTotal * rest) + from * rest;
        return Arrays.copyOfRange(bytes.get(key), (int) (base * es), (int) ((base + count * rest) * es));
    }

    /** Layer {@code i} of a stacked tensor. */
    byte[] layer(String key, long i) {
        return rows(key, i, 0, shapes.get(key)[1]);
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /** bf16 → fp32 is exact: the bf16 bits are the upper half of the float bits. */
    static byte[] bf16ToFp32(byte[] bf16) {
        byte[] out = new byte[bf16.length * 2];
        for (int i = 0; i < bf16.length / 2; i++) {
            out[4 * i + 2] = bf16[2 * i];
            out[4 * i + 3] = bf16[2 * i + 1];
        }
        return out;
    }
}
