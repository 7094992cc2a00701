package ckpt.convert.index;

import ckpt.format.megatron.KeyCategory;

/** A non-tensor entry (pickled Python object): its key, where its record lies and how many bytes it takes. */
public record ObjectEntry(String key, KeyCategory category, String file, long offset, long bytes) {
}
