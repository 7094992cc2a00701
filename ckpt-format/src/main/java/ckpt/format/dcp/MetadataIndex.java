package ckpt.format.dcp;

import java.util.Arrays;

/** The key of a storage record: FQN plus the chunk's offsets (null for a bytes item). The index hint is ignored, as in torch. */
public record MetadataIndex(String fqn, long[] offset) {
    @Override
    public boolean equals(Object o) {
        return o instanceof MetadataIndex m && m.fqn.equals(fqn) && Arrays.equals(m.offset, offset);
    }

    /**
     * Offsets are multiples of shard sizes, so the plain {@code 31 * h + v} of {@link Arrays#hashCode(long[])}
     * collides wholesale at 405B scale (1.4 M keys, many fqns with offsets in arithmetic progressions) and turns the
     * storage map's buckets into trees; each offset is scrambled first (Fibonacci hashing).
     */
    @Override
    public int hashCode() {
        return offset == null ? hash(fqn, null, 0, 0) : hash(fqn, offset, 0, offset.length);
    }

    /** The hash of key {@code fqn} at offsets {@code dims[from, to)} (null: a bytes item), wherever they are stored. */
    static int hash(String fqn, long[] dims, int from, int to) {
        int h = fqn.hashCode();
        if (dims != null) {
            for (int i = from; i < to; i++) {
                long x = (dims[i] + h) * 0x9E3779B97F4A7C15L;
                h = 31 * h + (int) (x ^ (x >>> 29));
            }
        }
        return h;
    }

    @Override
    public String toString() {
        return offset == null ? fqn : fqn + Arrays.toString(offset);
    }
}
