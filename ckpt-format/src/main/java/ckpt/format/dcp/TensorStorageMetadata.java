package ckpt.format.dcp;

import ckpt.format.tensor.DType;

import java.util.List;

/** A global tensor of a DCP checkpoint: dtype, global shape and the chunks that tile it. */
public record TensorStorageMetadata(String fqn, DType dtype, long[] size, List<ChunkStorageMetadata> chunks) {
    public TensorStorageMetadata {
        size = size.clone();
        chunks = List.copyOf(chunks);
    }

    @Override
    public long[] size() {
        return size.clone();
    }

    public long numel() {
        long n = 1;
        for (long s : size) n = Math.multiplyExact(n, s);
        return n;
    }

    public long byteSize() {
        return Math.multiplyExact(numel(), dtype.byteSize());
    }
}
