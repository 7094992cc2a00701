package ckpt.convert.diff;

import ckpt.convert.exec.TensorKernels;
import ckpt.convert.plan.CopyItem;
import ckpt.convert.plan.OutputTensor;
import ckpt.format.tensor.Box;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Reads a block of rows of a {@link ViewTensor} in its own layout (row-major over its shape, source dtype, no cast)
 * from the stored pieces, so a tensor of any size is compared a bounded block at a time: each of the view's box
 * copies, cut to the block ({@link CopyItem#within}), is gathered straight into the block where it is one contiguous
 * run, or through {@code scratch} (a transposed copy — GPT-2's Conv1D weights — or a strided box) otherwise. The
 * element work runs on the chosen engine's {@link TensorKernels} ({@code diff --engine}); no cast happens here.
 */
final class RowReader {
    private RowReader() {
    }

    /** Elements in one row of {@code shape} (1 for 0-d and 1-d tensors). */
    static long rowElements(long[] shape) {
        long n = 1;
        for (int i = 1; i < shape.length; i++) n = Math.multiplyExact(n, shape[i]);
        return n;
    }

    static long rows(long[] shape) {
        return shape.length == 0 ? 1 : shape[0];
    }

    /** Whether reading the view needs a scratch buffer: some copy is transposed or lands on a strided box. */
    static boolean needsScratch(OutputTensor t) {
        long[] shape = t.shape();
        for (CopyItem it : t.items()) if (it.transpose() || !isContiguous(shape, it.destination())) return true;
        return false;
    }

    /**
     * Rows {@code [r0, r0+n)} into {@code dst} ({@code n × rowElements × element size} bytes). {@code scratch} must
     * hold as many bytes as {@code dst} when {@link #needsScratch} says so.
     */
    static void read(TensorKernels kernels, OutputTensor t, long r0, long n, MemorySegment dst, MemorySegment scratch,
                     Runnable afterPiece) {
        long[] shape = t.shape();
        long[] blockShape = shape.clone();
        Box block;
        if (shape.length == 0) {
            block = new Box(new long[0], new long[0]);
        } else {
            long[] o = new long[shape.length];
            o[0] = r0;
            blockShape[0] = n;
            block = new Box(o, blockShape);
        }
        int es = t.sourceDtype().byteSize();
        for (CopyItem whole : t.items()) {
            CopyItem it = whole.within(block).orElse(null);
            if (it == null || it.numel() == 0) continue;
            Box local = it.destination();
            if (it.isZeroFill()) {
                kernels.fillZero(dst, t.sourceDtype(), blockShape, local);
            } else if (!it.transpose() && isContiguous(blockShape, local)) {
                long start = 0, stride = 1;
                for (int i = blockShape.length - 1; i >= 0; i--) {
                    start += local.offset(i) * stride;
                    stride *= blockShape[i];
                }
                kernels.gather(it.source().tensor(), it.source().box(), dst.asSlice(start * es, it.numel() * es), afterPiece);
            } else {
                MemorySegment buf = scratch != null ? scratch.asSlice(0, it.numel() * es) : Arena.ofAuto().allocate(it.numel() * es, 64);
                kernels.gather(it.source().tensor(), it.source().box(), buf, afterPiece);
                kernels.copyBox(buf, t.sourceDtype(), it.source().shape(), dst, t.sourceDtype(), blockShape,
                        local.offsets(), it.transpose());
            }
        }
    }

    private static boolean isContiguous(long[] shape, Box box) {
        int k = 0;
        while (k < shape.length && box.size(k) == 1) k++;
        for (int i = k + 1; i < shape.length; i++) if (box.size(i) != shape[i]) return false;
        return true;
    }
}
