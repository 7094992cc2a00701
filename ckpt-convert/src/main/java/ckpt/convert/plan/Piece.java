package ckpt.convert.plan;

/**
 * One source slice of an output tensor: its rows land at row {@code dstRow} of the output's logical (untransposed)
 * tensor. The slice spans every trailing axis, so in the output it is one contiguous run of bytes.
 */
public record Piece(TensorSlice slice, long dstRow) {
    public Piece {
        if (dstRow < 0) throw new IllegalArgumentException("negative destination row");
    }

    public long rows() {
        return slice.rank() == 0 ? 1 : slice.dim(0);
    }
}
