package ckpt.convert.diff;

import ckpt.format.tensor.DType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Elements of little-endian tensor bytes as doubles, for the dtypes with a numeric value ckpt compares. */
final class ElementValues {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private ElementValues() {
    }

    /** Whether {@link #get} reads this dtype; others (complex, float8) are compared byte for byte. */
    static boolean numeric(DType d) {
        return switch (d) {
            case FLOAT64, FLOAT32, FLOAT16, BFLOAT16, INT64, INT32, INT16, INT8, UINT8, UINT16, UINT32, UINT64, BOOL -> true;
            default -> false;
        };
    }

    static double get(MemorySegment s, DType d, long i) {
        return switch (d) {
            case FLOAT64 -> s.getAtIndex(F64, i);
            case FLOAT32 -> s.getAtIndex(F32, i);
            case FLOAT16 -> Float.float16ToFloat(s.getAtIndex(I16, i));
            case BFLOAT16 -> Float.intBitsToFloat((s.getAtIndex(I16, i) & 0xFFFF) << 16);
            case INT64 -> s.getAtIndex(I64, i);
            case UINT64 -> {
                long v = s.getAtIndex(I64, i);
                yield v >= 0 ? v : (double) (v >>> 1) * 2.0 + (v & 1);
            }
            case INT32 -> s.getAtIndex(I32, i);
            case UINT32 -> Integer.toUnsignedLong(s.getAtIndex(I32, i));
            case INT16 -> s.getAtIndex(I16, i);
            case UINT16 -> s.getAtIndex(I16, i) & 0xFFFF;
            case INT8 -> s.get(ValueLayout.JAVA_BYTE, i);
            case UINT8, BOOL -> s.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
            default -> throw new IllegalArgumentException("no numeric value for " + d);
        };
    }
}
