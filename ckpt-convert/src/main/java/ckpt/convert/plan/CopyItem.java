package ckpt.convert.plan;

import ckpt.format.tensor.Box;

import java.util.Arrays;

/**
 * One box copy of a plan, in the spirit of DCP's {@code ReadItem}: the elements of a source slice land in the box
 * {@code destination} of an output tensor (a whole tensor or one chunk of one), through an element transform — a cast
 * when the output dtype differs from the source's, and a 2-d transpose when {@code transpose}. A {@code null} source
 * fills the box with zeros (vocabulary padding rows).
 */
public record CopyItem(TensorSlice source, Box destination, boolean transpose) {
    public CopyItem {
        if (source != null) {
            long[] s = source.shape();
            long[] d = destination.sizes();
            if (transpose) {
                if (s.length != 2 || d.length != 2 || s[0] != d[1] || s[1] != d[0])
                    throw new IllegalArgumentException("transposed " + source + " does not fit " + destination);
            } else if (!Arrays.equals(s, d)) {
                throw new IllegalArgumentException(source + " of shape " + Arrays.toString(s) + " does not fit " + destination);
            }
        }
    }

    public static CopyItem zeros(Box destination) {
        return new CopyItem(null, destination, false);
    }

    public boolean isZeroFill() {
        return source == null;
    }

    public long numel() {
        return destination.numel();
    }

    /**
     * The part of this copy that lands in {@code chunk} (a box of the same destination tensor), in the chunk's
     * coordinates; empty when the copy does not reach the chunk.
     */
    public java.util.Optional<CopyItem> within(Box chunk) {
        Box meet = destination.intersect(chunk);
        if (meet == null) return java.util.Optional.empty();
        Box local = meet.relativeTo(chunk.offsets());
        if (source == null) return java.util.Optional.of(zeros(local));
        long[] rel = meet.relativeTo(destination.offsets()).offsets();
        long[] size = meet.sizes();
        Box src = transpose ? new Box(new long[]{rel[1], rel[0]}, new long[]{size[1], size[0]}) : new Box(rel, size);
        return java.util.Optional.of(new CopyItem(source.sub(src), local, transpose));
    }

    @Override
    public String toString() {
        return (source == null ? "zeros" : source + (transpose ? "ᵀ" : "")) + " → " + destination;
    }
}
