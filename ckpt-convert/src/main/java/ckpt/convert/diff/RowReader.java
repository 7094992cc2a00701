package ckpt.convert.diff;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.TensorSlice;
import ckpt.format.tensor.Box;

import java.lang.foreign.MemorySegment;

/**
 * Reads a block of rows of a {@link ViewTensor} in its own layout (row-major over its shape, source dtype, no cast)
 * from the stored pieces, so a tensor of any size is compared a bounded block at a time. A transposed view
 * (GPT-2's Conv1D weights) reads its rows as columns of the stored pieces and transposes them through
 * {@code scratch}.
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
     * Rows {@code [r0, r0+n)} into {@code dst} ({@code n × rowElements × element size} bytes). {@code scratch} must
     * hold as many bytes as {@code dst} when the view is transposed.
     */
    static void read(OutputTensor t, long r0, long n, MemorySegment dst, MemorySegment scratch, Runnable afterPiece) {
        if (ViewPieces.transposed(t)) {
            readTransposed(t, r0, n, dst, scratch, afterPiece);
            return;
        }
        long[] shape = t.shape();
        int es = t.sourceDtype().byteSize();
        long rowBytes = rowElements(shape) * es;
        for (ViewPieces.Piece p : ViewPieces.pieces(t)) {
            long from = Math.max(r0, p.dstRow()), to = Math.min(r0 + n, p.dstRow() + p.rows());
            if (from >= to) continue;
            TensorSlice s = p.slice().rank() == 0 ? p.slice() : p.slice().rows(from - p.dstRow(), to - from);
            TensorAssembler.assemble(s.tensor(), s.box(), dst.asSlice((from - r0) * rowBytes, (to - from) * rowBytes), afterPiece);
        }
    }

    /** Output rows of a transposed view are columns {@code [r0, r0+n)} of the logical {@code [R, C]} pieces. */
    private static void readTransposed(OutputTensor t, long r0, long n, MemorySegment dst, MemorySegment scratch, Runnable afterPiece) {
        long totalRows = ViewPieces.logicalRows(t);
        int es = t.sourceDtype().byteSize();
        for (ViewPieces.Piece p : ViewPieces.pieces(t)) {
            TensorSlice s = p.slice();
            long rows = p.rows();
            if (rows == 0) continue;
            long[] off = s.box().offsets(), size = s.box().sizes();
            int col = s.box().rank() - 1;
            off[col] += r0;
            size[col] = n;
            MemorySegment buf = scratch.asSlice(0, rows * n * es);
            TensorAssembler.assemble(s.tensor(), new Box(off, size), buf, afterPiece);
            // buf is [rows, n]; dst is [n, totalRows]: dst[c][dstRow + k] = buf[k][c].
            for (long k = 0; k < rows; k++)
                for (long c = 0; c < n; c++)
                    MemorySegment.copy(buf, (k * n + c) * es, dst, (c * totalRows + p.dstRow() + k) * es, es);
        }
    }
}
