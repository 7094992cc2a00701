package ckpt.convert.exec;

import ckpt.format.tensor.DType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Element conversions between float64/float32/float16/bfloat16 with a single rounding each, as PyTorch does them:
 * widening is exact; fp32 → bf16 rounds to nearest even (NaN → 0x7FC0, c10's {@code round_to_nearest_even});
 * → fp16 through {@link Float#floatToFloat16}; bf16/fp16 → the other goes through the exact fp32 value. Equal
 * dtypes copy the raw bits.
 */
public final class ElementCast {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private ElementCast() {
    }

    static short floatToBf16(float f) {
        if (Float.isNaN(f)) return 0x7FC0;
        int u = Float.floatToRawIntBits(f);
        int bias = ((u >>> 16) & 1) + 0x7FFF;
        return (short) ((u + bias) >>> 16);
    }

    static float bf16ToFloat(short s) {
        return Float.intBitsToFloat((s & 0xFFFF) << 16);
    }

    private static float read(MemorySegment s, DType d, long i) {
        return switch (d) {
            case FLOAT32 -> s.getAtIndex(F32, i);
            case BFLOAT16 -> bf16ToFloat(s.getAtIndex(I16, i));
            case FLOAT16 -> Float.float16ToFloat(s.getAtIndex(I16, i));
            case FLOAT64 -> (float) s.getAtIndex(F64, i);
            default -> throw new IllegalArgumentException("cannot cast from " + d);
        };
    }

    private static void write(MemorySegment s, DType d, long i, float v) {
        switch (d) {
            case FLOAT32 -> s.setAtIndex(F32, i, v);
            case BFLOAT16 -> s.setAtIndex(I16, i, floatToBf16(v));
            case FLOAT16 -> s.setAtIndex(I16, i, Float.floatToFloat16(v));
            case FLOAT64 -> s.setAtIndex(F64, i, v);
            default -> throw new IllegalArgumentException("cannot cast to " + d);
        }
    }

    /** {@code count} contiguous elements of {@code src} into {@code dst}. */
    public static void convert(MemorySegment src, DType sd, MemorySegment dst, DType dd, long count) {
        if (sd == dd) {
            MemorySegment.copy(src, 0, dst, 0, count * sd.byteSize());
            return;
        }
        // One tight loop per common pair: the JIT compiles each without the per-element dtype switches of read/write
        // (measured ~6x faster for bf16 → fp32, docs/BENCHMARKS.md "Tensor engines"); same functions, same bits.
        switch (sd) {
            case BFLOAT16 -> {
                if (dd == DType.FLOAT32) {
                    for (long i = 0; i < count; i++) dst.setAtIndex(F32, i, bf16ToFloat(src.getAtIndex(I16, i)));
                    return;
                }
            }
            case FLOAT16 -> {
                if (dd == DType.FLOAT32) {
                    for (long i = 0; i < count; i++) dst.setAtIndex(F32, i, Float.float16ToFloat(src.getAtIndex(I16, i)));
                    return;
                }
            }
            case FLOAT32 -> {
                switch (dd) {
                    case BFLOAT16 -> {
                        for (long i = 0; i < count; i++) dst.setAtIndex(I16, i, floatToBf16(src.getAtIndex(F32, i)));
                        return;
                    }
                    case FLOAT16 -> {
                        for (long i = 0; i < count; i++) dst.setAtIndex(I16, i, Float.floatToFloat16(src.getAtIndex(F32, i)));
                        return;
                    }
                    case FLOAT64 -> {
                        for (long i = 0; i < count; i++) dst.setAtIndex(F64, i, src.getAtIndex(F32, i));
                        return;
                    }
                    default -> { }
                }
            }
            case FLOAT64 -> {
                if (dd == DType.FLOAT32) {
                    for (long i = 0; i < count; i++) dst.setAtIndex(F32, i, (float) src.getAtIndex(F64, i));
                    return;
                }
            }
            default -> { }
        }
        if (sd == DType.FLOAT64 && dd != DType.FLOAT32) {
            // double → half formats would round twice through float; torch does the same (c10 converts via float).
            for (long i = 0; i < count; i++) write(dst, dd, i, (float) src.getAtIndex(F64, i));
            return;
        }
        for (long i = 0; i < count; i++) write(dst, dd, i, read(src, sd, i));
    }

    /**
     * Rows {@code [r0, r0+rows)} of a logical {@code [R, cols]} matrix, given row-major in {@code src}, into the
     * transposed {@code [cols, R]} matrix {@code dst}: {@code dst[c][r0+k] = src[k][c]}.
     */
    static void transposeInto(MemorySegment src, DType sd, long rows, long cols, MemorySegment dst, DType dd, long totalRows, long r0) {
        transposeInto(src, sd, rows, cols, dst, dd, totalRows, 0, r0);
    }

    /**
     * A row-major {@code [rows, cols]} matrix {@code src}, transposed, into the box at {@code (dstRow0, dstCol0)} of a
     * row-major matrix {@code dst} with {@code dstCols} columns: {@code dst[dstRow0+c][dstCol0+k] = src[k][c]}.
     */
    static void transposeInto(MemorySegment src, DType sd, long rows, long cols, MemorySegment dst, DType dd,
                              long dstCols, long dstRow0, long dstCol0) {
        int es = dd.byteSize();
        // Blocks of columns keep the writes of one pass within a few destination rows (cache/page friendly).
        final long block = 64;
        for (long c0 = 0; c0 < cols; c0 += block) {
            long c1 = Math.min(cols, c0 + block);
            for (long k = 0; k < rows; k++) {
                long srcRow = k * cols;
                for (long c = c0; c < c1; c++) {
                    long di = (dstRow0 + c) * dstCols + dstCol0 + k;
                    if (sd == dd) MemorySegment.copy(src, (srcRow + c) * es, dst, di * es, es);
                    else write(dst, dd, di, read(src, sd, srcRow + c));
                }
            }
        }
    }
}
