package ckpt.convert.analysis;

/** A stored record as the metadata places it: {@code file[offset, offset+length)}, holding (part of) {@code key}. */
public record RecordRef(String file, String key, long offset, long length) {
    public long end() {
        return offset + length;
    }
}
