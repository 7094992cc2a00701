package ckpt.format.tensor;

import java.util.Arrays;

/**
 * An axis-aligned box inside an N-d tensor: the shape of DCP's {@code ChunkStorageMetadata(offsets, sizes)} and of
 * every partial read. A 0-d tensor is the box with no axes (one element).
 */
public record Box(long[] offsets, long[] sizes) {
    public Box {
        if (offsets.length != sizes.length)
            throw new IllegalArgumentException("offsets and sizes differ in rank: " + offsets.length + " vs " + sizes.length);
        offsets = offsets.clone();
        sizes = sizes.clone();
    }

    /** The whole tensor of the given shape. */
    public static Box whole(long[] shape) {
        return new Box(new long[shape.length], shape);
    }

    public int rank() {
        return sizes.length;
    }

    public long numel() {
        return Shapes.numel(sizes);
    }

    public long offset(int axis) {
        return offsets[axis];
    }

    public long size(int axis) {
        return sizes[axis];
    }

    public long end(int axis) {
        return offsets[axis] + sizes[axis];
    }

    @Override
    public long[] offsets() {
        return offsets.clone();
    }

    @Override
    public long[] sizes() {
        return sizes.clone();
    }

    /** True when this box lies inside a tensor of the given shape. */
    public boolean fitsIn(long[] shape) {
        if (shape.length != sizes.length) return false;
        for (int i = 0; i < shape.length; i++)
            if (offsets[i] < 0 || sizes[i] < 0 || offsets[i] + sizes[i] > shape[i]) return false;
        return true;
    }

    /** The common part of two boxes of the same rank, or null if they do not meet (or the result is empty). */
    public Box intersect(Box other) {
        if (other.rank() != rank()) throw new IllegalArgumentException("rank mismatch");
        long[] o = new long[rank()];
        long[] s = new long[rank()];
        for (int i = 0; i < rank(); i++) {
            long lo = Math.max(offsets[i], other.offsets[i]);
            long hi = Math.min(end(i), other.end(i));
            if (hi <= lo) return null;
            o[i] = lo;
            s[i] = hi - lo;
        }
        return new Box(o, s);
    }

    /** This box moved so that {@code origin} becomes zero (coordinates relative to another box). */
    public Box relativeTo(long[] origin) {
        long[] o = new long[rank()];
        for (int i = 0; i < rank(); i++) o[i] = offsets[i] - origin[i];
        return new Box(o, sizes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Box b && Arrays.equals(offsets, b.offsets) && Arrays.equals(sizes, b.sizes);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(offsets) + Arrays.hashCode(sizes);
    }

    @Override
    public String toString() {
        // how messages name a chunk: in the words of DCP's ChunkStorageMetadata, no Java record syntax
        return "at offsets " + Arrays.toString(offsets) + " of sizes " + Arrays.toString(sizes);
    }
}
