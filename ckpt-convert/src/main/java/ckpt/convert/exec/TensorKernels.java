package ckpt.convert.exec;

import ckpt.convert.index.GlobalTensor;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;

import java.lang.foreign.MemorySegment;

/**
 * The element work of a plan, behind one seam so that other engines (SIMD, ND4J, a GPU) can replace the CPU loops:
 * gathering a box of a stored global tensor into contiguous memory, and writing a contiguous block into a box of a
 * destination tensor with a cast and/or a 2-d transpose. {@link #CPU} is the default.
 */
public interface TensorKernels {
    /** Box {@code box} of {@code source}, row-major and contiguous, into {@code dst}. */
    void gather(GlobalTensor source, Box box, MemorySegment dst, Runnable afterPiece);

    /**
     * The contiguous row-major {@code srcShape} block {@code src} (dtype {@code srcType}) into box
     * {@code (dstOffsets, srcShape or its transpose)} of the row-major {@code dstShape} tensor {@code dst}, cast to
     * {@code dstType}; when {@code transpose}, the block is 2-d and lands transposed.
     */
    void copyBox(MemorySegment src, DType srcType, long[] srcShape, MemorySegment dst, DType dstType, long[] dstShape,
                 long[] dstOffsets, boolean transpose);

    /** Zeros into box {@code box} of the row-major {@code dstShape} tensor {@code dst}. */
    void fillZero(MemorySegment dst, DType dstType, long[] dstShape, Box box);

    TensorKernels CPU = new CpuKernels();
}
