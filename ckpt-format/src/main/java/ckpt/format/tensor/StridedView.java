package ckpt.format.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Where the elements of one stored tensor lie: a segment of raw little-endian storage bytes plus PyTorch's view
 * arithmetic (element {@code [i0..in]} is at element {@code offset + Σ ik·stride_k} of the storage). Strides and
 * offset are in elements; strides may be zero (expanded) or permuted (transposed).
 */
public record StridedView(MemorySegment storage, DType dtype, long offset, long[] shape, long[] strides) {
    public StridedView {
        if (shape.length != strides.length)
            throw new IllegalArgumentException("shape and strides differ in rank");
        shape = shape.clone();
        strides = strides.clone();
    }

    /** A contiguous row-major tensor at the start of {@code storage}. */
    public static StridedView contiguous(MemorySegment storage, DType dtype, long[] shape) {
        return new StridedView(storage, dtype, 0, shape, Shapes.contiguousStrides(shape));
    }

    public int rank() {
        return shape.length;
    }

    public long numel() {
        return Shapes.numel(shape);
    }

    public long byteSize() {
        return Shapes.byteSize(shape, dtype);
    }

    public boolean isContiguous() {
        return offset == 0 && Arrays.equals(strides, Shapes.contiguousStrides(shape)) || numel() <= 1 && offset == 0;
    }

    /**
     * Largest element index this view touches plus one (0 for an empty view): the storage must hold that many
     * elements, which readers check before any byte is read.
     */
    public long requiredElements() {
        return Shapes.requiredElements(offset, shape, strides);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public long[] strides() {
        return strides.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StridedView v && v.storage.equals(storage) && v.dtype == dtype && v.offset == offset
                && Arrays.equals(v.shape, shape) && Arrays.equals(v.strides, strides);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(shape) * 31 + Long.hashCode(offset);
    }

    @Override
    public String toString() {
        return "StridedView(" + dtype + ", shape=" + Arrays.toString(shape) + ", strides=" + Arrays.toString(strides)
                + ", offset=" + offset + ")";
    }
}
