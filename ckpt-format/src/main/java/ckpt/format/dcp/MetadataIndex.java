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
        int h = fqn.hashCode();
        if (offset != null) {
            for (long v : offset) {
                long x = (v + h) * 0x9E3779B97F4A7C15L;
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
