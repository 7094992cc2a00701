package ckpt.convert.index;

import ckpt.format.tensor.Box;
import ckpt.format.tensor.Shapes;

import java.util.ArrayList;
import java.util.List;

/**
 * A run of consecutive elements of a row-major tensor — what a flat ZeRO partition holds of a parameter — as the
 * few boxes that tile it: a partial first row, whole rows, a partial last row, recursively (at most
 * {@code 2·rank − 1} boxes), so a flat fragment becomes ordinary {@link TensorPiece}s.
 */
public final class FlatRanges {
    private FlatRanges() {
    }

    /** Boxes tiling elements {@code [from, to)} of a tensor of {@code shape}, in element order. */
    public static List<Box> boxes(long[] shape, long from, long to) {
        List<Box> out = new ArrayList<>();
        if (from < 0 || to > Shapes.numel(shape) || from > to)
            throw new IllegalArgumentException("range [" + from + ", " + to + ") outside a tensor of " + Shapes.numel(shape));
        if (from == to) return out;
        collect(shape, 0, new long[shape.length], from, to, out);
        return out;
    }

    private static void collect(long[] shape, int axis, long[] prefix, long from, long to, List<Box> out) {
        if (axis == shape.length) { // a single element (0-d remainder)
            out.add(new Box(prefix.clone(), ones(shape.length)));
            return;
        }
        long row = 1;
        for (int i = axis + 1; i < shape.length; i++) row *= shape[i];
        long first = from / row, last = to / row; // rows [first, last) may be whole
        if (from % row != 0) {
            long r = first;
            long end = Math.min(to, (r + 1) * row);
            prefix[axis] = r;
            collect(shape, axis + 1, prefix, from - r * row, end - r * row, out);
            prefix[axis] = 0;
            first = r + 1;
            if (end == to) return;
        }
        if (last > first) {
            long[] offsets = prefix.clone();
            long[] sizes = ones(shape.length);
            offsets[axis] = first;
            sizes[axis] = last - first;
            for (int i = axis + 1; i < shape.length; i++) sizes[i] = shape[i];
            out.add(new Box(offsets, sizes));
        }
        if (to % row != 0 && to > Math.max(from, last * row)) {
            prefix[axis] = last;
            collect(shape, axis + 1, prefix, 0, to - last * row, out);
            prefix[axis] = 0;
        }
    }

    private static long[] ones(int n) {
        long[] a = new long[n];
        java.util.Arrays.fill(a, 1);
        return a;
    }
}
