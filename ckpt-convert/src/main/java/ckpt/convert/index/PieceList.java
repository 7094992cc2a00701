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

    public PieceList(int size, IntFunction<TensorPiece> piece) {
        if (size < 0) throw new IllegalArgumentException("negative size");
        this.size = size;
        this.piece = piece;
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
