package ckpt.convert.index;

import java.util.List;

/**
 * What the size checks and the size analysis need of each piece of a tensor — its element count and the record
 * holding it — read by index. A 405B-scale DCP checkpoint has 1.4 M pieces: walking them as {@link TensorPiece}s made
 * six objects a piece on every pass, while the format model keeps these facts in columns
 * ({@code ckpt.format.dcp.ChunkList}). Row {@code i} describes {@code pieces.get(i)}.
 */
public interface PieceRecords {
    int size();

    /** {@code pieces.get(i).box().numel()}; overflow throws {@link ArithmeticException}. */
    long numel(int i);

    /** {@code pieces.get(i).source().file()}. */
    String file(int i);

    /** {@code pieces.get(i).source().offset()}. */
    long offset(int i);

    /** {@code pieces.get(i).source().length()}. */
    long length(int i);

    /** The records of any piece list: its own rows when it keeps them, else read from each piece. */
    static PieceRecords of(List<TensorPiece> pieces) {
        if (pieces instanceof PieceList l && l.records() != null) return l.records();
        return new PieceRecords() {
            @Override
            public int size() {
                return pieces.size();
            }

            @Override
            public long numel(int i) {
                return pieces.get(i).box().numel();
            }

            @Override
            public String file(int i) {
                return pieces.get(i).source().file();
            }

            @Override
            public long offset(int i) {
                return pieces.get(i).source().offset();
            }

            @Override
            public long length(int i) {
                return pieces.get(i).source().length();
            }
        };
    }
}
