package ckpt.convert.index;

import ckpt.format.tensor.Box;

/**
 * One stored piece of a global tensor: {@code box} in global coordinates is filled from {@code source}, starting at
 * {@code sourceOrigin} inside the stored tensor (all zeros when the stored tensor is exactly the piece, as for DCP
 * chunks; non-zero when a piece is a part of a stored tensor, e.g. one half of a legacy SwiGLU shard).
 */
public record TensorPiece(Box box, PieceSource source, long[] sourceOrigin) {
    public TensorPiece {
        sourceOrigin = sourceOrigin.clone();
        if (sourceOrigin.length != box.rank()) throw new IllegalArgumentException("source origin rank differs from box rank");
    }

    public TensorPiece(Box box, PieceSource source) {
        this(box, source, new long[box.rank()]);
    }

    @Override
    public long[] sourceOrigin() {
        return sourceOrigin.clone();
    }
}
