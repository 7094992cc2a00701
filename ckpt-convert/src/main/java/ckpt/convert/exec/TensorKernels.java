package ckpt.convert.exec;

import ckpt.convert.engine.TensorEngine;
import ckpt.convert.index.GlobalTensor;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The element work of a plan, behind one seam so that other engines (ND4J, a GPU) can replace the CPU loops:
 * gathering a box of a stored global tensor into contiguous memory, and writing a contiguous block into a box of a
 * destination tensor with a cast and/or a 2-d transpose. A {@link TensorEngine} makes them; {@link #CPU} (the
 * {@code java} engine's) is the default.
 * <p>Contract for every implementation (see {@link TensorEngine}): the bytes written are exactly those {@link #CPU}
 * writes for the same call; the methods are called concurrently by the executor's workers on disjoint destinations;
 * all memory is host memory owned by the caller and valid only for the call (an engine may not keep a reference).
 */
public interface TensorKernels extends AutoCloseable {
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

    /**
     * What the user should know about how this engine ran, one line each (e.g. operations that fell back to the
     * {@code java} kernels, and why); shown in the summary. Called after the work, from one thread.
     */
    default List<String> notes() {
        return List.of();
    }

    /** Frees what the engine holds (device buffers, pools). The kernels are not used afterwards. */
    @Override
    default void close() {
    }

    TensorKernels CPU = new CpuKernels();
}
