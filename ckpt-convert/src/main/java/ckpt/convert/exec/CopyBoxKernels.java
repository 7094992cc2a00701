package ckpt.convert.exec;

import ckpt.convert.index.GlobalTensor;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;

import java.lang.foreign.MemorySegment;

/**
 * Kernels of an engine that takes over only {@link #copyBox} (casts and transposes of contiguous blocks, the work that
 * pays to offload): {@link #gather} reads out of stored pieces and {@link #fillZero} is a memset, so both stay on the
 * {@code java} kernels ({@link TensorKernels#CPU}), byte-identical by construction.
 */
public interface CopyBoxKernels extends TensorKernels {
    @Override
    default void gather(GlobalTensor source, Box box, MemorySegment dst, Runnable afterPiece) {
        CPU.gather(source, box, dst, afterPiece);
    }

    @Override
    default void fillZero(MemorySegment dst, DType dstType, long[] dstShape, Box box) {
        CPU.fillZero(dst, dstType, dstShape, box);
    }
}
