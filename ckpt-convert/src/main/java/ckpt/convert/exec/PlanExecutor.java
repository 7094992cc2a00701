package ckpt.convert.exec;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.Piece;
import ckpt.convert.plan.TensorSlice;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Runs a {@link ConversionPlan} one output tensor at a time: the target maps the tensor's region of its output
 * file, pieces are assembled straight into it ({@link TensorAssembler}), and the region is released before the next
 * tensor. Casts and transposes go through one scratch buffer of at most {@code scratchLimit} bytes (pieces are
 * processed in row chunks), so memory stays bounded whatever the model or tensor size.
 */
public final class PlanExecutor {
    /** Where tensors go: a torch.save archive, safetensors shards… */
    public interface Target {
        /** The tensor's output bytes, mapped in {@code arena} (closed after {@link #written}). */
        MemorySegment region(OutputTensor t, Arena arena) throws IOException;

        /** The region is filled. */
        void written(OutputTensor t, MemorySegment region) throws IOException;
    }

    public static final long DEFAULT_SCRATCH = 64L << 20;

    private final long scratchLimit;

    public PlanExecutor() {
        this(DEFAULT_SCRATCH);
    }

    public PlanExecutor(long scratchLimit) {
        if (scratchLimit <= 0) throw new IllegalArgumentException("scratch limit must be positive");
        this.scratchLimit = scratchLimit;
    }

    public void execute(ConversionPlan plan, Target target, ConversionListener listener) throws IOException {
        try (Arena scratchArena = Arena.ofConfined()) {
            MemorySegment scratch = null;
            for (OutputTensor t : plan.tensors()) {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment dst = target.region(t, arena);
                    if (t.isDirectCopy()) {
                        fillDirect(t, dst);
                    } else {
                        long need = scratchBytes(t);
                        if (scratch == null || scratch.byteSize() < need) scratch = scratchArena.allocate(Math.max(need, scratch == null ? 0 : scratch.byteSize()), 64);
                        fillConverted(t, dst, scratch);
                    }
                    target.written(t, dst);
                }
                listener.tensorWritten(t);
            }
        }
    }

    private static long rowElements(long[] logical) {
        long n = 1;
        for (int i = 1; i < logical.length; i++) n = Math.multiplyExact(n, logical[i]);
        return n;
    }

    private static void fillDirect(OutputTensor t, MemorySegment dst) {
        int es = t.dtype().byteSize();
        long rowBytes = rowElements(t.logicalShape()) * es;
        for (Piece p : t.pieces()) {
            long len = p.slice().numel() * es;
            if (len == 0) continue;
            TensorAssembler.assemble(p.slice().tensor(), p.slice().box(), dst.asSlice(p.dstRow() * rowBytes, len));
        }
    }

    /** Rows per chunk so one chunk of source elements fits the scratch limit (at least one row). */
    private long rowsPerChunk(OutputTensor t) {
        long rowSrcBytes = Math.max(1, rowElements(t.logicalShape()) * t.sourceDtype().byteSize());
        return Math.max(1, scratchLimit / rowSrcBytes);
    }

    private long scratchBytes(OutputTensor t) {
        long rowSrcBytes = rowElements(t.logicalShape()) * t.sourceDtype().byteSize();
        long maxRows = 0;
        for (Piece p : t.pieces()) maxRows = Math.max(maxRows, p.rows());
        return Math.max(1, Math.min(maxRows, rowsPerChunk(t)) * rowSrcBytes);
    }

    private void fillConverted(OutputTensor t, MemorySegment dst, MemorySegment scratch) {
        long[] logical = t.logicalShape();
        long rowElems = rowElements(logical);
        int srcEs = t.sourceDtype().byteSize(), dstEs = t.dtype().byteSize();
        long chunk = rowsPerChunk(t);
        for (Piece p : t.pieces()) {
            TensorSlice s = p.slice();
            long rows = p.rows();
            for (long r = 0; r < rows; r += chunk) {
                long n = Math.min(chunk, rows - r);
                TensorSlice sub = s.rank() == 0 ? s : s.rows(r, n);
                long elems = n * rowElems;
                if (elems == 0) continue;
                MemorySegment buf = scratch.asSlice(0, elems * srcEs);
                TensorAssembler.assemble(sub.tensor(), sub.box(), buf);
                if (t.transposed()) {
                    ElementCast.transposeInto(buf, t.sourceDtype(), n, rowElems, dst, t.dtype(), logical[0], p.dstRow() + r);
                } else {
                    ElementCast.convert(buf, t.sourceDtype(), dst.asSlice((p.dstRow() + r) * rowElems * dstEs, elems * dstEs), t.dtype(), elems);
                }
            }
        }
    }
}
