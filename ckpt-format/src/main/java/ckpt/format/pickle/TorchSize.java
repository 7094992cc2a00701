package ckpt.format.pickle;

import java.util.Arrays;

/** A {@code torch.Size}: tensor dimensions. Equality by content. */
public record TorchSize(long[] dims) {
    public TorchSize {
        dims = dims.clone();
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    public int rank() {
        return dims.length;
    }

    public long dim(int i) {
        return dims[i];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TorchSize s && Arrays.equals(s.dims, dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return "torch.Size(" + Arrays.toString(dims) + ")";
    }
}
