package ckpt.convert.index;

import ckpt.format.tensor.Shapes;
import ckpt.format.megatron.KeyCategory;
import ckpt.format.tensor.DType;

import java.util.Arrays;
import java.util.List;

/**
 * A tensor as the training job saw it, whatever the sharding: key, dtype, global shape, and the stored pieces that
 * tile it. Stacked Megatron layers keep their leading {@code num_layers} axis here; mappings un-stack them.
 */
public record GlobalTensor(String key, DType dtype, long[] shape, KeyCategory category, List<TensorPiece> pieces) {
    public GlobalTensor {
        shape = shape.clone();
        if (!(pieces instanceof PieceList)) pieces = List.copyOf(pieces); // immutable already, made when read
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int axis) {
        return shape[axis];
    }

    public long numel() {
        return Shapes.numel(shape);
    }

    public long byteSize() {
        return Shapes.byteSize(shape, dtype);
    }

    /** Each piece's element count and record, without making the pieces where the format keeps them in columns. */
    public PieceRecords pieceRecords() {
        return PieceRecords.of(pieces);
    }

    @Override
    public String toString() {
        return key + " " + dtype + Arrays.toString(shape) + " (" + pieces.size() + " pieces)";
    }
}
