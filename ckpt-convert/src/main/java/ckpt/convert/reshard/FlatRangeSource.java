package ckpt.convert.reshard;

import ckpt.convert.index.PieceSource;
import ckpt.convert.index.TorchSavePieceSource;
import ckpt.format.FormatException;
import ckpt.format.tensor.Shapes;
import ckpt.format.tensor.StridedView;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * One parameter's elements inside a flat optimizer buffer of a torch.save file, seen as a contiguous tensor of the
 * parameter's local shape (with {@code prepend} singleton axes in front, like {@link TorchSavePieceSource}, so it has
 * the rank of the stacked global tensor it fills). The record bounds are the whole flat buffer's: that is the unit
 * a reader maps and checks.
 *
 * @param flat  the whole 1-d buffer (e.g. {@code distrib_optim.pt}'s {@code param} tensor of one gradient buffer)
 * @param start the parameter's first element in that buffer
 * @param shape the parameter's local shape
 */
record FlatRangeSource(TorchSavePieceSource flat, long start, long[] shape, int prepend) implements PieceSource {
    FlatRangeSource {
        shape = shape.clone();
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
        long[] s = new long[prepend + shape.length];
        Arrays.fill(s, 0, prepend, 1);
        System.arraycopy(shape, 0, s, prepend, shape.length);
        StridedView out = new StridedView(v.storage(), v.dtype(), v.offset() + start, s, Shapes.contiguousStrides(s));
        if (out.requiredElements() > v.offset() + v.numel())
            throw new FormatException(Path.of(flat.file()), "a parameter needs elements up to " + (start + Shapes.numel(shape))
                    + " of a flat optimizer buffer of " + v.numel());
        return out;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }
}
