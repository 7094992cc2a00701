package ckpt.convert.assembly;

import ckpt.convert.index.GlobalTensor;
import ckpt.convert.index.TensorPiece;
import ckpt.format.FormatException;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.StridedView;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Writes a box of a global tensor (all of it, one layer of a stacked tensor, one expert…) from its stored pieces
 * into a caller-provided row-major destination, typically a mapped region of the output file. Only pieces that
 * meet the box are opened; nothing is buffered beyond the destination.
 */
public final class TensorAssembler {
    private TensorAssembler() {
    }

    /** Fills {@code dst} (exactly {@code box.numel() × element size} bytes) with the elements of {@code box}. */
    public static void assemble(GlobalTensor t, Box box, MemorySegment dst) {
        assemble(t, box, dst, () -> { });
    }

    /**
     * As {@link #assemble(GlobalTensor, Box, MemorySegment)}, running {@code afterPiece} once each stored piece is
     * copied — e.g. to unmap its record, so that reading a tensor keeps at most one source piece resident.
     */
    public static void assemble(GlobalTensor t, Box box, MemorySegment dst, Runnable afterPiece) {
        if (!box.fitsIn(t.shape()))
            throw new IllegalArgumentException("box " + box + " outside " + t.key() + Arrays.toString(t.shape()));
        long need = Math.multiplyExact(box.numel(), t.dtype().byteSize());
        if (dst.byteSize() != need)
            throw new IllegalArgumentException("destination holds " + dst.byteSize() + " bytes, box needs " + need);
        long covered = 0;
        for (TensorPiece p : t.pieces()) {
            Box part = p.box().intersect(box);
            if (part == null && !(box.rank() == 0)) continue;
            if (box.rank() == 0) part = box;
            StridedView src = p.source().open();
            long[][] at = placement(t, p, src, box, part);
            StridedCopy.copy(src, at[0], part.sizes(), dst, box.sizes(), at[1]);
            covered += part.numel();
            afterPiece.run();
            if (box.rank() == 0) break;
        }
        if (covered != box.numel())
            throw FormatException.atKey(null, t.key(), "pieces cover " + covered + " of " + box.numel()
                    + " elements of the block " + describe(box) + ": the checkpoint is missing part of this tensor");
    }

    /** Receives one stored run of a box: {@code bytes} (valid until {@code afterPiece} runs) are the box's bytes from {@code boxByte} on. */
    @FunctionalInterface
    public interface RunSink {
        /** Uses the run; false when it cannot, so that the caller fills the box the general way. */
        boolean accept(MemorySegment bytes, long boxByte) throws IOException;
    }

    /**
     * Hands each stored piece's part of {@code box} to {@code sink} as it lies in the (mapped) source, without a
     * copy, while that part is one contiguous run both in the stored tensor and in the box's row-major bytes — so a
     * caller can write it straight to a file. Runs come in the order of the stored pieces, not of {@code boxByte};
     * {@code afterPiece} runs after each. Returns false at the first part that is not one run, or that the sink
     * declines (the runs before it were handed on already: the caller then fills the box the general way, e.g.
     * {@link #assemble}).
     */
    public static boolean forEachStoredRun(GlobalTensor t, Box box, RunSink sink, Runnable afterPiece) throws IOException {
        return forEachStoredRun(t, box, OPEN, (piece, storageByte, bytes, boxByte) -> sink.accept(bytes, boxByte), afterPiece);
    }

    /** Opens a stored piece's tensor; the default is {@link ckpt.convert.index.PieceSource#open()}. */
    @FunctionalInterface
    public interface Opener {
        StridedView open(TensorPiece piece);
    }

    private static final Opener OPEN = p -> p.source().open();

    /** As {@link RunSink}, also told which stored piece a run comes from and where it starts in that piece's storage. */
    @FunctionalInterface
    public interface SourcedRunSink {
        boolean accept(TensorPiece piece, long storageByte, MemorySegment bytes, long boxByte) throws IOException;

        /** {@code piece} was opened, but its part of the box is not one run: the caller fills the box another way. */
        default void notARun(TensorPiece piece) {
        }
    }

    /**
     * As {@link #forEachStoredRun(GlobalTensor, Box, RunSink, Runnable)}, opening each stored piece with {@code open}
     * and telling the sink where each run lies in its piece's storage record (to checksum a record from its runs).
     */
    public static boolean forEachStoredRun(GlobalTensor t, Box box, Opener open, SourcedRunSink sink, Runnable afterPiece)
            throws IOException {
        return forEachStoredPart(t, box, open, afterPiece, (piece, src, at, part) -> {
            StridedCopy.SingleRun run = StridedCopy.singleRun(src, at[0], part.sizes(), box.sizes(), at[1]);
            if (run == null) sink.notARun(piece);
            return run != null && sink.accept(piece, run.srcByte(), src.storage().asSlice(run.srcByte(), run.bytes()), run.dstByte());
        });
    }

    /** One stored part of a box: its piece opened, where it starts in the piece and in the box; false to stop. */
    @FunctionalInterface
    private interface PartVisitor {
        boolean visit(TensorPiece piece, StridedView src, long[][] at, Box part) throws IOException;
    }

    /**
     * Walks the stored pieces that overlap {@code box}, in stored order, handing each part to {@code visitor} and
     * running {@code afterPiece} after each; false at the first part the visitor declines. Fails when the pieces do
     * not cover the box.
     */
    private static boolean forEachStoredPart(GlobalTensor t, Box box, Opener open, Runnable afterPiece, PartVisitor visitor)
            throws IOException {
        if (!box.fitsIn(t.shape()))
            throw new IllegalArgumentException("box " + box + " outside " + t.key() + Arrays.toString(t.shape()));
        long covered = 0;
        for (TensorPiece p : t.pieces()) {
            Box part = box.rank() == 0 ? box : p.box().intersect(box);
            if (part == null) continue;
            StridedView src = open.open(p);
            if (!visitor.visit(p, src, placement(t, p, src, box, part), part)) return false;
            covered += part.numel();
            afterPiece.run();
            if (box.rank() == 0) break;
        }
        if (covered != box.numel())
            throw FormatException.atKey(null, t.key(), "pieces cover " + covered + " of " + box.numel()
                    + " elements of the block " + describe(box) + ": the checkpoint is missing part of this tensor");
        return true;
    }

    /** Receives one stored block of a box: {@code bytes} (valid until {@code afterPiece} runs) hold, row-major, the block of {@code sizes} at {@code offsets} of the box. */
    @FunctionalInterface
    public interface BlockSink {
        /** Uses the block; false when it cannot, so that the caller fills the box the general way. */
        boolean accept(MemorySegment bytes, long[] offsets, long[] sizes) throws IOException;
    }

    /**
     * As {@link #forEachStoredRun}, for parts that are one contiguous run of the stored tensor wherever they lie in
     * the box (e.g. a row-parallel TP shard, a column block of the box): each is handed on as the row-major block it
     * is, for a caller that writes blocks into boxes itself (a cast).
     */
    public static boolean forEachStoredBlock(GlobalTensor t, Box box, BlockSink sink, Runnable afterPiece) throws IOException {
        return forEachStoredBlock(t, box, OPEN, new SourcedBlockSink() {
            @Override
            public boolean accept(TensorPiece piece, long storageByte, MemorySegment bytes, long[] offsets, long[] sizes) throws IOException {
                return sink.accept(bytes, offsets, sizes);
            }
        }, afterPiece);
    }

    /** As {@link BlockSink}, also told which stored piece a block comes from and where it starts in that piece's storage. */
    public interface SourcedBlockSink {
        boolean accept(TensorPiece piece, long storageByte, MemorySegment bytes, long[] offsets, long[] sizes) throws IOException;

        /** {@code piece} was opened, but its part of the box is not one run of it: the caller fills the box another way. */
        default void notARun(TensorPiece piece) {
        }
    }

    /** As {@link #forEachStoredBlock(GlobalTensor, Box, BlockSink, Runnable)}, opening each stored piece with {@code open}. */
    public static boolean forEachStoredBlock(GlobalTensor t, Box box, Opener open, SourcedBlockSink sink, Runnable afterPiece)
            throws IOException {
        return forEachStoredPart(t, box, open, afterPiece, (piece, src, at, part) -> {
            // contiguous in the source: one run when copied into a tensor of the part's own shape
            StridedCopy.SingleRun run = StridedCopy.singleRun(src, at[0], part.sizes(), part.sizes(), new long[box.rank()]);
            if (run == null) sink.notARun(piece);
            return run != null && sink.accept(piece, run.srcByte(), src.storage().asSlice(run.srcByte(), run.bytes()), at[1], part.sizes());
        });
    }

    /** Where {@code part} starts in the stored piece and in the box, checked against the stored tensor. */
    private static long[][] placement(GlobalTensor t, TensorPiece p, StridedView src, Box box, Box part) {
        if (src.dtype() != t.dtype())
            throw FormatException.atKey(Path.of(p.source().file()), t.key(), "a piece holds " + src.dtype()
                    + ", the tensor is " + t.dtype());
        long[] srcStart = new long[box.rank()];
        long[] dstStart = new long[box.rank()];
        long[] origin = p.sourceOrigin();
        for (int i = 0; i < box.rank(); i++) {
            srcStart[i] = origin[i] + part.offset(i) - p.box().offset(i);
            dstStart[i] = part.offset(i) - box.offset(i);
            if (srcStart[i] + part.size(i) > src.shape()[i])
                throw FormatException.atKey(Path.of(p.source().file()), t.key(), "a piece is smaller than the block "
                        + describe(p.box()) + " the metadata gives it");
        }
        return new long[][]{srcStart, dstStart};
    }

    /** A block in the words of an error message: "at offsets [o…] of size [s…]". */
    static String describe(Box b) {
        return "at offsets " + Arrays.toString(b.offsets()) + " of size " + Arrays.toString(b.sizes());
    }

    /** The whole tensor into a destination of its full size. */
    public static void assemble(GlobalTensor t, MemorySegment dst) {
        assemble(t, Box.whole(t.shape()), dst);
    }
}
