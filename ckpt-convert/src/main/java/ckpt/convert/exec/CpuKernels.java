package ckpt.convert.exec;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.convert.index.GlobalTensor;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;
import ckpt.format.tensor.Shapes;

import java.lang.foreign.MemorySegment;

/**
 * {@link TensorKernels} on the CPU: {@link TensorAssembler} (strided copies out of stored pieces) and
 * {@link ElementCast} (casts with PyTorch's rounding, blocked transposes). A box is written one innermost run at a time.
 * This is the {@code java} engine and the reference every other engine must match byte for byte; other engines call
 * it for operations they do not accelerate. Stateless and thread-safe: parallelism comes from the executor's
 * workers, each of which owns whole pieces (splitting one piece again across threads would only oversubscribe).
 */
public final class CpuKernels implements TensorKernels {
    @Override
    public void gather(GlobalTensor source, Box box, MemorySegment dst, Runnable afterPiece) {
        TensorAssembler.assemble(source, box, dst, afterPiece);
    }

    @Override
    public void copyBox(MemorySegment src, DType sd, long[] srcShape, MemorySegment dst, DType dd, long[] dstShape,
                        long[] dstOffsets, boolean transpose) {
        if (transpose) {
            if (srcShape.length != 2 || dstShape.length != 2) throw new IllegalArgumentException("transpose needs 2-d blocks");
            ElementCast.transposeInto(src, sd, srcShape[0], srcShape[1], dst, dd, dstShape[1], dstOffsets[0], dstOffsets[1]);
            return;
        }
        forEachRun(dstShape, new Box(dstOffsets, srcShape), (srcElem, dstElem, run) ->
                ElementCast.convert(src.asSlice(srcElem * sd.byteSize(), run * sd.byteSize()), sd,
                        dst.asSlice(dstElem * dd.byteSize(), run * dd.byteSize()), dd, run));
    }

    @Override
    public void fillZero(MemorySegment dst, DType dd, long[] dstShape, Box box) {
        forEachRun(dstShape, box, (srcElem, dstElem, run) -> dst.asSlice(dstElem * dd.byteSize(), run * dd.byteSize()).fill((byte) 0));
    }

    private interface Run {
        void copy(long srcElement, long dstElement, long length);
    }

    /** Each innermost run of {@code box} in a row-major {@code shape}: its index in the box and in the tensor. */
    private static void forEachRun(long[] shape, Box box, Run run) {
        int n = shape.length;
        if (box.numel() == 0) return;
        if (n == 0) {
            run.copy(0, 0, 1);
            return;
        }
        long[] strides = Shapes.contiguousStrides(shape);
        long len = box.size(n - 1);
        long[] idx = new long[n - 1];
        long srcElem = 0;
        while (true) {
            long d = box.offset(n - 1);
            for (int i = 0; i < n - 1; i++) d += (box.offset(i) + idx[i]) * strides[i];
            run.copy(srcElem, d, len);
            srcElem += len;
            int a = n - 2;
            while (a >= 0 && ++idx[a] == box.size(a)) idx[a--] = 0;
            if (a < 0) return;
        }
    }
}
