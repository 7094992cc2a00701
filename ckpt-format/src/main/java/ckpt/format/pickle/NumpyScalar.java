package ckpt.format.pickle;

import java.util.Arrays;
import java.util.HexFormat;

/** A numpy scalar ({@code numpy…multiarray.scalar(dtype, raw)}): the dtype string and the element bytes. */
public record NumpyScalar(String dtype, byte[] data) {
    @Override
    public boolean equals(Object o) {
        return o instanceof NumpyScalar s && s.dtype.equals(dtype) && Arrays.equals(s.data, data);
    }

    @Override
    public int hashCode() {
        return dtype.hashCode() * 31 + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "numpy." + dtype + "(" + HexFormat.of().formatHex(data) + ")";
    }
}
