package ckpt.format.tensor;

/**
 * Arithmetic on a tensor shape ({@code long[]} of dimension sizes, row-major, as PyTorch's {@code torch.Size}),
 * written once for every reader, view and writer. Overflow throws {@link ArithmeticException}: readers validate
 * shapes from a file (and turn that into their typed exception) before anything relies on these values.
 */
public final class Shapes {
    private Shapes() {
    }

    /** Element count; 1 for a 0-d tensor, 0 when any dimension is 0. */
    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    /** Bytes of a dense tensor of this shape and dtype. */
    public static long byteSize(long[] shape, DType dtype) {
        return Math.multiplyExact(numel(shape), (long) dtype.byteSize());
    }

    /** Row-major strides in elements, as {@code torch.empty(shape).stride()} (a size-0 axis counts as 1). */
    public static long[] contiguousStrides(long[] shape) {
        long[] st = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            st[i] = s;
            s = Math.multiplyExact(s, Math.max(shape[i], 1));
        }
        return st;
    }

    /**
     * Elements a storage must hold for a strided view: the last element index it touches + 1 (0 when the view is
     * empty). Readers check this against the storage before any byte is read.
     */
    public static long requiredElements(long offset, long[] shape, long[] strides) {
        long max = offset;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 0) return 0;
            max = Math.addExact(max, Math.multiplyExact(shape[i] - 1, strides[i]));
        }
        return max + 1;
    }
}
