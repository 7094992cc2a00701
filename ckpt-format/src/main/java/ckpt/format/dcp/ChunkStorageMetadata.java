package ckpt.format.dcp;

import ckpt.format.tensor.Box;

/** One saved chunk of a global tensor: its box (offsets, sizes) inside the global shape. */
public record ChunkStorageMetadata(Box box) {
}
