package ckpt.convert.index;

import ckpt.format.FormatException;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.Shapes;
import ckpt.format.tensor.StridedView;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A box of a parameter seen inside a stored flat 1-d tensor (a distributed-optimizer bucket, a ZeRO partition):
 * {@code shape} elements starting at element {@code at} of the stored tensor, walked with the parameter's row-major
 * {@code strides}. Metadata only: the stored tensor is opened, and its extent checked, when the piece is read.
 */
public record FlatViewSource(PieceSource flat, long at, long[] shape, long[] strides) implements PieceSource {
    public FlatViewSource {
        shape = shape.clone();
        strides = strides.clone();
        if (at < 0) throw new IllegalArgumentException("negative flat offset " + at);
    }

    /**
     * The pieces of a parameter of shape {@code shape} whose elements {@code [from, to)} (row-major) are stored
     * contiguously from element {@code flatAt} of the 1-d stored tensor {@code flat}: one box per run that
     * {@link FlatRanges} tiles the range into, each in the parameter's coordinates.
     */
    public static List<TensorPiece> pieces(long[] shape, long from, long to, PieceSource flat, long flatAt) {
        long[] strides = Shapes.contiguousStrides(shape);
        List<TensorPiece> out = new ArrayList<>();
        for (Box b : FlatRanges.boxes(shape, from, to)) {
            long first = 0;
            for (int i = 0; i < b.rank(); i++) first += b.offset(i) * strides[i];
            out.add(new TensorPiece(b, new FlatViewSource(flat, flatAt + (first - from), b.sizes(), strides)));
        }
        return out;
    }

    @Override
    public String file() {
        return flat.file();
    }

    @Override
    public long offset() {
        return flat.offset();
    }

    @Override
    public long length() {
        return flat.length();
    }

    @Override
    public StridedView open() {
        StridedView v = flat.open();
        if (v.rank() != 1 || (v.numel() > 1 && v.strides()[0] != 1))
            throw new FormatException(Path.of(flat.file()), "flat tensor " + v + " is not a contiguous 1-d tensor");
        StridedView out = new StridedView(v.storage(), v.dtype(), v.offset() + at, shape, strides);
        long need = Shapes.numel(shape) == 0 ? 0 : out.requiredElements() - v.offset();
        if (need > v.numel())
            throw new FormatException(Path.of(flat.file()), "flat tensor too short: a piece needs element " + need
                    + " of a tensor of " + v.numel());
        return out;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public long[] strides() {
        return strides.clone();
    }
}
