package ckpt.format.safetensors;

import ckpt.format.tensor.Shapes;
import ckpt.format.tensor.DType;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor of a safetensors header: C-contiguous little-endian bytes at {@code [begin, end)} of the blob's byte
 * buffer (not of the file: add {@link SafetensorsHeader#dataStart()}).
 */
public record SafetensorsEntry(String name, DType dtype, long[] shape, long begin, long end) {
    public SafetensorsEntry {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long byteLength() {
        return end - begin;
    }

    /** Element count; 1 for a 0-dim tensor. The header was validated, so this cannot overflow. */
    public long numel() {
        return Shapes.numel(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SafetensorsEntry e && name.equals(e.name) && dtype == e.dtype
                && Arrays.equals(shape, e.shape) && begin == e.begin && end == e.end;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    @Override
    public String toString() {
        return name + " " + dtype.safetensorsName().orElse(dtype.torchName()) + Arrays.toString(shape)
                + " [" + begin + ", " + end + ")";
    }
}
