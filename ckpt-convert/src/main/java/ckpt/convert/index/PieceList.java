package ckpt.convert.index;

import java.util.AbstractList;
import java.util.RandomAccess;
import java.util.function.IntFunction;

/**
 * An immutable list of a tensor's pieces made when read, from rows a format model keeps compactly (DCP chunk
 * columns): a 405B-scale checkpoint has 1.4 M pieces, and holding each as objects for the whole command was most of
 * the index's heap. Consumers walk the pieces and drop them; each {@link #get} makes an equal piece.
 */
public final class PieceList extends AbstractList<TensorPiece> implements RandomAccess {
    private final int size;
    private final IntFunction<TensorPiece> piece;
    private final PieceRecords records;

    public PieceList(int size, IntFunction<TensorPiece> piece) {
        this(size, piece, null);
    }

    /** @param records the same pieces' element counts and records read from the rows, or null */
    public PieceList(int size, IntFunction<TensorPiece> piece, PieceRecords records) {
        if (size < 0) throw new IllegalArgumentException("negative size");
        if (records != null && records.size() != size) throw new IllegalArgumentException("records for " + records.size() + " pieces, not " + size);
        this.size = size;
        this.piece = piece;
        this.records = records;
    }

    /** The rows' records, or null when this list has none (then {@link PieceRecords#of} reads each piece). */
    PieceRecords records() {
        return records;
    }

    @Override
    public TensorPiece get(int i) {
        if (i < 0 || i >= size) throw new IndexOutOfBoundsException(i);
        return piece.apply(i);
    }

    @Override
    public int size() {
        return size;
    }
}
