package ckpt.format.torchsave;

import ckpt.format.tensor.DType;

/**
 * A storage as torch.save's persistent id names it: record {@code data/<key>}, element type from the storage class
 * ({@code dtype} null for {@code UntypedStorage}, whose {@code numel} counts bytes), device location (ignored).
 */
public record StorageRef(String key, DType dtype, String location, long numel) {
    /** Bytes the record must hold. */
    public long byteSize() {
        return dtype == null ? numel : Math.multiplyExact(numel, dtype.byteSize());
    }
}
