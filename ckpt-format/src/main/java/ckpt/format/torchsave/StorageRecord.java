package ckpt.format.torchsave;

/**
 * Where the raw bytes of one storage lie in a {@code .pt} file: {@code [offset, offset + length)}, absolute in the
 * file. Tensors viewing the same storage share one record, so summing records (not tensors) gives file bytes.
 */
public record StorageRecord(String key, long offset, long length) {
}
