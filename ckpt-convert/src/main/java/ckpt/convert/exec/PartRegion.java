package ckpt.convert.exec;

/**
 * Bytes a part wrote, as recorded in its completion marker: unit {@code unit} is {@code length} bytes at
 * {@code offset} of {@code file} (relative to the output dir). {@code wholeFile}: the part wrote the whole file, whose
 * length must then be exactly {@code offset + length}. {@code crc32}: of the region's bytes, or -1 where the format
 * keeps none.
 */
public record PartRegion(String unit, String file, long offset, long length, boolean wholeFile, long crc32) {
    public PartRegion {
        if (unit == null || file == null) throw new IllegalArgumentException("a region without unit or file");
        if (offset < 0 || length < 0) throw new IllegalArgumentException("negative region " + offset + "+" + length);
        if (offset > Long.MAX_VALUE - length) throw new IllegalArgumentException("region " + offset + "+" + length + " overflows");
    }

    public long end() {
        return offset + length;
    }
}
