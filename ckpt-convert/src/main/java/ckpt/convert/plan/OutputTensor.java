package ckpt.convert.plan;

import ckpt.format.tensor.Shapes;
import ckpt.format.tensor.DType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * One tensor of the output: its name, dtype and shape, and the pieces that fill it. The pieces fill the
 * <em>logical</em> tensor row by row (the concatenation along axis 0 of their slices); when {@code transposed}, the
 * output is that 2-d logical tensor transposed (GPT-2's Conv1D {@code [in, out]} layout). Sizes are known up front,
 * so output files can be laid out before any byte moves.
 *
 * @param sourceDtype dtype of every piece; {@code dtype} differs from it when the conversion casts
 */
public record OutputTensor(String name, DType dtype, long[] shape, DType sourceDtype, boolean transposed, List<Piece> pieces) {
    public OutputTensor {
        shape = shape.clone();
        pieces = List.copyOf(pieces);
        for (long d : shape) if (d < 0) throw new IllegalArgumentException(name + ": negative dimension");
        if (transposed && shape.length != 2) throw new IllegalArgumentException(name + ": only 2-d tensors can be transposed");
        long[] logical = logicalShape(shape, transposed);
        for (Piece p : pieces) {
            if (p.slice().dtype() != sourceDtype)
                throw new IllegalArgumentException(name + ": piece " + p.slice() + " is " + p.slice().dtype() + ", not " + sourceDtype);
            long[] s = p.slice().shape();
            if (s.length != logical.length || (s.length > 0 && !Arrays.equals(Arrays.copyOfRange(s, 1, s.length),
                    Arrays.copyOfRange(logical, 1, logical.length))))
                throw new IllegalArgumentException(name + ": piece " + p.slice() + " of shape " + Arrays.toString(s)
                        + " does not fit rows of " + Arrays.toString(logical));
        }
        // The pieces must tile the rows exactly once.
        List<Piece> sorted = new ArrayList<>(pieces);
        sorted.sort(Comparator.comparingLong(Piece::dstRow));
        long next = 0;
        for (Piece p : sorted) {
            if (p.rows() == 0) continue;
            if (p.dstRow() != next)
                throw new IllegalArgumentException(name + ": rows " + next + "…" + p.dstRow() + " are " + (p.dstRow() > next ? "unfilled" : "filled twice"));
            next += p.rows();
        }
        long rows = logical.length == 0 ? 1 : logical[0];
        if (next != rows && !(Shapes.numel(shape) == 0))
            throw new IllegalArgumentException(name + ": pieces fill " + next + " of " + rows + " rows");
    }

    /** The slices concatenated along axis 0, in order, as they are. */
    public static OutputTensor concat(String name, List<TensorSlice> slices) {
        return build(name, slices, false);
    }

    public static OutputTensor of(String name, TensorSlice slice) {
        return build(name, List.of(slice), false);
    }

    /** The 2-d slices concatenated along axis 0, then transposed. */
    public static OutputTensor transposed(String name, List<TensorSlice> slices) {
        return build(name, slices, true);
    }

    private static OutputTensor build(String name, List<TensorSlice> slices, boolean transposed) {
        if (slices.isEmpty()) throw new IllegalArgumentException(name + ": no source");
        TensorSlice first = slices.getFirst();
        List<Piece> pieces = new ArrayList<>();
        long row = 0;
        for (TensorSlice s : slices) {
            Piece p = new Piece(s, row);
            pieces.add(p);
            row += p.rows();
        }
        long[] logical = first.shape();
        if (logical.length == 0) {
            if (slices.size() != 1) throw new IllegalArgumentException(name + ": 0-d slices cannot be concatenated");
        } else {
            logical[0] = row;
        }
        long[] shape = transposed ? new long[]{logical.length == 2 ? logical[1] : -1, logical[0]} : logical;
        if (transposed && logical.length != 2) throw new IllegalArgumentException(name + ": only 2-d tensors can be transposed");
        return new OutputTensor(name, first.dtype(), shape, first.dtype(), transposed, pieces);
    }

    /** The same tensor written as {@code target}. */
    public OutputTensor withDtype(DType target) {
        return new OutputTensor(name, target, shape, sourceDtype, transposed, pieces);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** The shape the pieces fill: {@link #shape()}, or its transpose. */
    public long[] logicalShape() {
        return logicalShape(shape, transposed);
    }

    private static long[] logicalShape(long[] shape, boolean transposed) {
        return transposed ? new long[]{shape[1], shape[0]} : shape.clone();
    }

    public long numel() {
        return Shapes.numel(shape);
    }

    public long byteSize() {
        return Shapes.byteSize(shape, dtype);
    }

    /** Whether the bytes can go straight from the source into the output (no cast, no transpose). */
    public boolean isDirectCopy() {
        return dtype == sourceDtype && !transposed;
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + (transposed ? " (transposed)" : "") + " from " + pieces.size() + " pieces";
    }
}
