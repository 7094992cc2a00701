package ckpt.format.pickle;

import java.util.Arrays;
import java.util.HexFormat;

/** Python {@code bytes} or {@code bytearray}; equality by content. */
public record PyBytes(byte[] data, boolean mutable) {
    public PyBytes(byte[] data) {
        this(data, false);
    }

    public int length() {
        return data.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PyBytes b && b.mutable == mutable && Arrays.equals(b.data, data);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        String hex = HexFormat.of().formatHex(data, 0, Math.min(data.length, 16));
        return (mutable ? "bytearray" : "bytes") + "[" + data.length + "]" + hex + (data.length > 16 ? "…" : "");
    }
}
