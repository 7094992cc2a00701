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
     * The part of this copy that lands inside {@code part} of the destination tensor, with its source cut to match
     * (for a transposed copy, destination rows are source columns), or null when the two do not meet.
     */
    public CopyItem clip(Box part) {
        Box d = destination.intersect(part);
        if (d == null) return null;
        if (d.equals(destination)) return this;
        if (source == null) return zeros(d);
        int rank = d.rank();
        long[] from = new long[rank], size = new long[rank];
        for (int i = 0; i < rank; i++) {
            int a = transpose ? rank - 1 - i : i; // source axis that destination axis i comes from
            from[a] = d.offset(i) - destination.offset(i);
            size[a] = d.size(i);
        }
        return new CopyItem(source.sub(from, size), d, transpose);
    }

    @Override
    public String toString() {
        return (source == null ? "zeros" : source + (transpose ? "ᵀ" : "")) + " → " + destination;
    }
}
