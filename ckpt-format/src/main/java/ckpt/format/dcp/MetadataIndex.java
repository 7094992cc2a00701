package ckpt.format.dcp;

import java.util.Arrays;

/** The key of a storage record: FQN plus the chunk's offsets (null for a bytes item). The index hint is ignored, as in torch. */
public record MetadataIndex(String fqn, long[] offset) {
    @Override
    public boolean equals(Object o) {
        return o instanceof MetadataIndex m && m.fqn.equals(fqn) && Arrays.equals(m.offset, offset);
    }

    @Override
    public int hashCode() {
        return fqn.hashCode() * 31 + Arrays.hashCode(offset);
    }

    @Override
    public String toString() {
        return offset == null ? fqn : fqn + Arrays.toString(offset);
    }
}
