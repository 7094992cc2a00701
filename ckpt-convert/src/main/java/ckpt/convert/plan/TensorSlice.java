package ckpt.convert.plan;

import ckpt.convert.index.GlobalTensor;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;

import java.util.Arrays;

/**
 * A box of a global tensor seen as a tensor of its own: the first {@code squeezed} axes of the box have size 1 and
 * are dropped from its shape (a layer of a stacked {@code [L, …]} tensor, an expert of {@code [L, E, …]}). Slicing
 * is metadata only; bytes move when a plan is executed.
 */
public record TensorSlice(GlobalTensor tensor, Box box, int squeezed) {
    public TensorSlice {
        if (!box.fitsIn(tensor.shape()))
            throw new IllegalArgumentException("box " + box + " outside " + tensor.key() + Arrays.toString(tensor.shape()));
        if (squeezed < 0 || squeezed > box.rank()) throw new IllegalArgumentException("bad squeezed axis count " + squeezed);
        for (int i = 0; i < squeezed; i++)
            if (box.size(i) != 1) throw new IllegalArgumentException("squeezed axis " + i + " of " + box + " is not of size 1");
    }

    public static TensorSlice whole(GlobalTensor t) {
        return new TensorSlice(t, Box.whole(t.shape()), 0);
    }

    public String key() {
        return tensor.key();
    }

    public DType dtype() {
        return tensor.dtype();
    }

    public int rank() {
        return box.rank() - squeezed;
    }

    public long[] shape() {
        return Arrays.copyOfRange(box.sizes(), squeezed, box.rank());
    }

    public long dim(int axis) {
        return box.size(squeezed + axis);
    }

    public long numel() {
        return box.numel();
    }

    /** Element {@code i} of the first axis, with that axis dropped: layer {@code i} of a stacked tensor. */
    public TensorSlice index(long i) {
        if (rank() == 0) throw new IllegalArgumentException("cannot index a 0-d slice of " + key());
        if (i < 0 || i >= dim(0)) throw new IllegalArgumentException("index " + i + " outside axis of size " + dim(0) + " of " + key());
        long[] o = box.offsets(), s = box.sizes();
        o[squeezed] += i;
        s[squeezed] = 1;
        return new TensorSlice(tensor, new Box(o, s), squeezed + 1);
    }

    /** Rows {@code [from, from+count)} of the first axis. */
    public TensorSlice rows(long from, long count) {
        if (rank() == 0) throw new IllegalArgumentException("a 0-d slice of " + key() + " has no rows");
        if (from < 0 || count < 0 || from + count > dim(0))
            throw new IllegalArgumentException("rows [" + from + ", " + (from + count) + ") outside " + dim(0) + " rows of " + key());
        long[] o = box.offsets(), s = box.sizes();
        o[squeezed] += from;
        s[squeezed] = count;
        return new TensorSlice(tensor, new Box(o, s), squeezed);
    }

    /** Elements {@code [from, from+count)} of axis {@code axis} (of the slice's own shape). */
    public TensorSlice narrow(int axis, long from, long count) {
        if (axis < 0 || axis >= rank()) throw new IllegalArgumentException("no axis " + axis + " in a " + rank() + "-d slice of " + key());
        if (from < 0 || count < 0 || from + count > dim(axis))
            throw new IllegalArgumentException("[" + from + ", " + (from + count) + ") outside axis " + axis + " of size " + dim(axis) + " of " + key());
        long[] o = box.offsets(), s = box.sizes();
        o[squeezed + axis] += from;
        s[squeezed + axis] = count;
        return new TensorSlice(tensor, new Box(o, s), squeezed);
    }

    /** The sub-box {@code b} of this slice, in the slice's own coordinates. */
    public TensorSlice sub(Box b) {
        if (b.rank() != rank()) throw new IllegalArgumentException("a " + b.rank() + "-d box of a " + rank() + "-d slice of " + key());
        TensorSlice out = this;
        for (int a = 0; a < rank(); a++) out = out.narrow(a, b.offset(a), b.size(a));
        return out;
    }

    @Override
    public String toString() {
        return key() + box + (squeezed > 0 ? " squeezed " + squeezed : "");
    }
}
