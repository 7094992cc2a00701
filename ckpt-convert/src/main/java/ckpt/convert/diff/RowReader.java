package ckpt.convert.diff;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.convert.plan.OutputTensor;
import ckpt.convert.exec.PlanExecutor;
import ckpt.convert.exec.TensorKernels;
import ckpt.convert.plan.CopyItem;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;
import ckpt.format.tensor.Shapes;

import java.lang.foreign.MemorySegment;

/**
 * Reads a block of rows of a {@link ViewTensor} in its own layout (row-major over its shape, source dtype, no cast)
 * from the stored pieces, so a tensor of any size is compared a bounded block at a time. A transposed view
 * (GPT-2's Conv1D weights) reads its rows as columns of the stored pieces and transposes them through
 * {@code scratch}; vocabulary padding reads as zeros.
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

    /**
     * Rows {@code [r0, r0+n)} into {@code dst} ({@code n × rowElements × element size} bytes), from the tensor's copy
     * items clipped to those rows. {@code scratch} must hold as many bytes as {@code dst}: items that are transposed
     * or do not land as one contiguous run are gathered there first.
     */
    static void read(OutputTensor t, long r0, long n, MemorySegment dst, MemorySegment scratch, Runnable afterPiece) {
        long[] shape = t.shape();
        DType d = t.sourceDtype();
        int es = d.byteSize();
        long[] bo = new long[shape.length], bs = shape.clone();
        if (shape.length > 0) {
            bo[0] = r0;
            bs[0] = n;
        }
        Box block = new Box(bo, bs);
        for (CopyItem item : t.items()) {
            if (item.numel() == 0) continue;
            CopyItem it = item.within(block).orElse(null);
            if (it == null) continue;
            Box at = it.destination();
            if (it.isZeroFill()) {
                TensorKernels.CPU.fillZero(dst, d, bs, at);
            } else if (!it.transpose() && PlanExecutor.isContiguous(bs, at)) {
                long start = 0;
                long[] strides = Shapes.contiguousStrides(bs);
                for (int i = 0; i < bs.length; i++) start += at.offset(i) * strides[i];
                TensorAssembler.assemble(it.source().tensor(), it.source().box(), dst.asSlice(start * es, it.numel() * es), afterPiece);
            } else {
                MemorySegment buf = scratch.asSlice(0, it.numel() * es);
                TensorAssembler.assemble(it.source().tensor(), it.source().box(), buf, afterPiece);
                TensorKernels.CPU.copyBox(buf, d, it.source().shape(), dst, d, bs, at.offsets(), it.transpose());
            }
        }
    }
}
