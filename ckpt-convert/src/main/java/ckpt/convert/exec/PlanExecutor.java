package ckpt.convert.exec;

import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.CopyItem;
import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.TensorSlice;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.Shapes;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Runs a {@link ConversionPlan} one output tensor at a time: the {@link OutputWriter} maps the tensor's region, each
 * {@link CopyItem} is executed into it, and the region is released before the next tensor. An item whose bytes can go
 * as they are into a contiguous run of the region is gathered straight into it; casts, transposes and non-contiguous
 * boxes go through one scratch buffer of at most {@code scratchLimit} bytes (sources are processed in row chunks), so
 * memory stays bounded whatever the model or tensor size. The element work is the {@link TensorKernels}'.
 */
public final class PlanExecutor {
    public static final long DEFAULT_SCRATCH = 64L << 20;

    private final long scratchLimit;
    private final TensorKernels kernels;

    public PlanExecutor() {
        this(DEFAULT_SCRATCH);
    }

    public PlanExecutor(long scratchLimit) {
        this(scratchLimit, TensorKernels.CPU);
    }

    public PlanExecutor(long scratchLimit, TensorKernels kernels) {
        if (scratchLimit <= 0) throw new IllegalArgumentException("scratch limit must be positive");
        this.scratchLimit = scratchLimit;
        this.kernels = kernels;
    }

    public void execute(ConversionPlan plan, OutputWriter writer, ConversionListener listener) throws IOException {
        execute(plan, writer, listener, () -> { });
    }

    /**
     * @param afterEachPiece runs after each source piece is copied and after each tensor is written, e.g. to unmap
     *                       the source records read so far, so that the resident set stays bounded by one output
     *                       tensor plus one source piece
     */
    public void execute(ConversionPlan plan, OutputWriter writer, ConversionListener listener, Runnable afterEachPiece)
            throws IOException {
        try (Arena scratchArena = Arena.ofConfined()) {
            Scratch scratch = new Scratch(scratchArena);
            for (OutputTensor t : plan.tensors()) {
                writer.write(t, dst -> fill(t, dst, scratch, afterEachPiece));
                afterEachPiece.run();
                listener.tensorWritten(t);
            }
        }
    }

    /** One growing scratch buffer, reused by every tensor. */
    private static final class Scratch {
        final Arena arena;
        MemorySegment buf;

        Scratch(Arena arena) {
            this.arena = arena;
        }

        MemorySegment get(long bytes) {
            if (buf == null || buf.byteSize() < bytes) buf = arena.allocate(Math.max(1, bytes), 64);
            return buf.asSlice(0, bytes);
        }
    }

    private void fill(OutputTensor t, MemorySegment dst, Scratch scratch, Runnable release) {
        long[] shape = t.shape();
        int es = t.dtype().byteSize();
        for (CopyItem it : t.items()) {
            if (it.numel() == 0) continue;
            Box box = it.destination();
            if (it.isZeroFill()) {
                kernels.fillZero(dst, t.dtype(), shape, box);
            } else if (t.isDirectCopy(it) && isContiguous(shape, box)) {
                long start = elementOffset(shape, box.offsets());
                kernels.gather(it.source().tensor(), it.source().box(), dst.asSlice(start * es, it.numel() * es), release);
            } else {
                copyConverted(t, it, dst, scratch, release);
            }
        }
    }

    /** The source in row chunks that fit the scratch limit, each gathered, then cast/transposed into its box. */
    private void copyConverted(OutputTensor t, CopyItem it, MemorySegment dst, Scratch scratch, Runnable release) {
        TensorSlice s = it.source();
        int srcEs = t.sourceDtype().byteSize();
        long rows = s.rank() == 0 ? 1 : s.dim(0);
        long rowElems = s.rank() == 0 ? 1 : s.numel() / Math.max(1, rows);
        long chunk = Math.max(1, scratchLimit / Math.max(1, rowElems * srcEs));
        for (long r = 0; r < rows; r += chunk) {
            long n = Math.min(chunk, rows - r);
            TensorSlice sub = s.rank() == 0 ? s : s.rows(r, n);
            MemorySegment buf = scratch.get(sub.numel() * srcEs);
            kernels.gather(sub.tensor(), sub.box(), buf, release);
            long[] at = it.destination().offsets();
            if (s.rank() > 0) at[it.transpose() ? 1 : 0] += r;
            kernels.copyBox(buf, t.sourceDtype(), sub.shape(), dst, t.dtype(), t.shape(), at, it.transpose());
        }
    }

    /** A box is one contiguous run of a row-major tensor iff its leading axes are single and its trailing ones full. */
    static boolean isContiguous(long[] shape, Box box) {
        int k = 0;
        while (k < shape.length && box.size(k) == 1) k++;
        for (int i = k + 1; i < shape.length; i++) if (box.size(i) != shape[i]) return false;
        return true;
    }

    private static long elementOffset(long[] shape, long[] offsets) {
        long[] strides = Shapes.contiguousStrides(shape);
        long e = 0;
        for (int i = 0; i < shape.length; i++) e += offsets[i] * strides[i];
        return e;
    }
}
