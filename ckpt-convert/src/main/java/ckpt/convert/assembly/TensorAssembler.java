package ckpt.convert.assembly;

import ckpt.convert.index.GlobalTensor;
import ckpt.convert.index.TensorPiece;
import ckpt.format.FormatException;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.StridedView;

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
            StridedCopy.copy(src, srcStart, part.sizes(), dst, box.sizes(), dstStart);
            covered += part.numel();
            afterPiece.run();
            if (box.rank() == 0) break;
        }
        if (covered != box.numel())
            throw FormatException.atKey(null, t.key(), "pieces cover " + covered + " of " + box.numel()
                    + " elements of the block " + describe(box) + ": the checkpoint is missing part of this tensor");
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
