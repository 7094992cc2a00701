package ckpt.format.dcp;

import ckpt.format.tensor.Shapes;
import ckpt.format.tensor.DType;

import java.util.List;

/** A global tensor of a DCP checkpoint: dtype, global shape and the chunks that tile it. */
public record TensorStorageMetadata(String fqn, DType dtype, long[] size, List<ChunkStorageMetadata> chunks) {
    public TensorStorageMetadata {
        size = size.clone();
        if (!(chunks instanceof ChunkList)) chunks = List.copyOf(chunks); // immutable already, and made when read
    }

    @Override
    public long[] size() {
        return size.clone();
    }

    public long numel() {
        return Shapes.numel(size);
    }

    public long byteSize() {
        return Shapes.byteSize(size, dtype);
    }
}
