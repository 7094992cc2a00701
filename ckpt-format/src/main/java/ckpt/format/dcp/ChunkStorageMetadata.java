package ckpt.format.dcp;

import ckpt.format.tensor.Box;

/**
 * One saved chunk of a global tensor: its box (offsets, sizes) inside the global shape, and where its bytes are.
 *
 * @param storage the chunk's storage record, attached when the metadata is decoded (a 405B-scale checkpoint has
 *                1.4 M of them: looking each up in the storage map once, not once per consumer); null only while decoding
 */
public record ChunkStorageMetadata(Box box, StorageInfo storage) {
    public ChunkStorageMetadata(Box box) {
        this(box, null);
    }
}
