package ckpt.convert.index;

/**
 * A file of the checkpoint. {@code present} is false for data files the metadata references but that are not on
 * disk (e.g. a metadata-only copy); their size is then what the metadata implies (end of their last record).
 */
public record FileEntry(String name, long bytes, boolean present, boolean referenced) {
}
