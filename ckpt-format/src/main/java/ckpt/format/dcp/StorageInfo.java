package ckpt.format.dcp;

import java.util.List;

/**
 * Where one item's bytes are: {@code relativePath[offset, offset+length)}, after undoing {@code transforms}
 * (stream extensions of torch ≥ 2.7, listed in undo order; empty when none).
 */
public record StorageInfo(String relativePath, long offset, long length, List<String> transforms) {
    public StorageInfo {
        transforms = List.copyOf(transforms);
    }

    public long end() {
        return offset + length;
    }
}
