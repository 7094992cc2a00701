package ckpt.convert.index;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/** A small row-major float32 tensor for building synthetic shards: slicing and concatenation only. */
record Dense(long[] shape, float[] data) {
    static Dense iota(float base, long... shape) {
        float[] d = new float[(int) numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = base + i;
        return new Dense(shape, d);
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long s : shape) n *= s;
        return n;
    }

    private long inner(int axis) {
        long n = 1;
        for (int i = axis + 1; i < shape.length; i++) n *= shape[i];
        return n;
    }

    private long outer(int axis) {
        long n = 1;
        for (int i = 0; i < axis; i++) n *= shape[i];
        return n;
    }

    /** {@code [from, to)} along {@code axis}. */
    Dense slice(int axis, long from, long to) {
        long[] s = shape.clone();
        s[axis] = to - from;
        long in = inner(axis);
        float[] d = new float[(int) numel(s)];
        int k = 0;
        for (long o = 0; o < outer(axis); o++) {
            int start = (int) ((o * shape[axis] + from) * in);
            int len = (int) ((to - from) * in);
            System.arraycopy(data, start, d, k, len);
            k += len;
        }
        return new Dense(s, d);
    }

    /** Element {@code i} of axis 0, without that axis. */
    Dense at(long i) {
        Dense s = slice(0, i, i + 1);
        return new Dense(Arrays.copyOfRange(shape, 1, shape.length), s.data);
    }

    static Dense cat(int axis, Dense... parts) {
        long[] s = parts[0].shape.clone();
        s[axis] = 0;
        for (Dense p : parts) s[axis] += p.shape[axis];
        float[] d = new float[(int) numel(s)];
        long outer = parts[0].outer(axis);
        int k = 0;
        for (long o = 0; o < outer; o++) {
            for (Dense p : parts) {
                int len = (int) (p.shape[axis] * p.inner(axis));
                System.arraycopy(p.data, (int) (o * len), d, k, len);
                k += len;
            }
        }
        return new Dense(s, d);
    }

    MemorySegment segment(Arena arena) {
        MemorySegment seg = arena.allocate(Math.max(4, data.length * 4L)).asSlice(0, data.length * 4L);
        for (int i = 0; i < data.length; i++) seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), i, data[i]);
        return seg;
    }

    /** This tensor as an in-memory piece source with {@code prepend} singleton axes in front. */
    PieceSource source(Arena arena, String name, int prepend) {
        MemorySegment seg = segment(arena);
        long[] s = new long[prepend + shape.length];
        Arrays.fill(s, 0, prepend, 1);
        System.arraycopy(shape, 0, s, prepend, shape.length);
        return new InMemorySource(name, seg, s);
    }
}
