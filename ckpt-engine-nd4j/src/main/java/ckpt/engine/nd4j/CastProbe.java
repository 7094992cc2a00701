package ckpt.engine.nd4j;

import ckpt.convert.exec.TensorKernels;
import ckpt.format.tensor.DType;
import org.nd4j.linalg.api.buffer.DataType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which of ND4J's float casts write exactly the java engine's bytes, found by running both on the values where casts
 * differ: every fp16 and bf16 bit pattern; for fp32 every top half with the low halves that make bf16 and fp16
 * rounding ties, near-ties and NaN payloads; for fp64 values at, just above and just below those ties (where one
 * rounding and two differ). A cast with any differing byte is left to the java kernels, with the first difference as
 * the reason. Run once per process (tens of milliseconds).
 */
final class CastProbe {
    private static final DType[] FLOATS = {DType.FLOAT64, DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16};
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final int[] LOW_HALVES = {0x0000, 0x8000, 0x7FFF, 0x8001, 0x1000, 0x0FFF, 0x1001, 0x3000, 0x2FFF, 0xF000, 0x0001, 0xFFFF};

    /** A cast between two float dtypes, named as PyTorch names them. */
    record Cast(DType from, DType to) implements Comparable<Cast> {
        @Override
        public String toString() {
            return from.torchName() + " → " + to.torchName();
        }

        @Override
        public int compareTo(Cast o) {
            int c = from.compareTo(o.from);
            return c != 0 ? c : to.compareTo(o.to);
        }
    }

    private static Map<Cast, String> inexact;

    private CastProbe() {
    }

    /** The casts ND4J does not do byte-identically, each with the first difference found. */
    static synchronized Map<Cast, String> inexactCasts() {
        if (inexact != null) return inexact;
        Map<Cast, String> out = new LinkedHashMap<>();
        try (Arena arena = Arena.ofConfined()) {
            for (DType from : FLOATS) {
                MemorySegment src = inputs(from, arena);
                long n = src.byteSize() / from.byteSize();
                for (DType to : FLOATS) {
                    if (from == to) continue;
                    String diff = compare(src, from, n, to, arena);
                    if (diff != null) out.put(new Cast(from, to), diff);
                }
            }
        }
        return inexact = Map.copyOf(out);
    }

    /** Null when ND4J and the java kernels agree on every value, else the first difference in words. */
    private static String compare(MemorySegment src, DType from, long n, DType to, Arena arena) {
        MemorySegment java = arena.allocate(n * to.byteSize(), 8), nd4j = arena.allocate(n * to.byteSize(), 8);
        long[] shape = {n};
        TensorKernels.CPU.copyBox(src, from, shape, java, to, shape, new long[]{0}, false);
        DataType st = NativeArrays.floatType(from).orElseThrow(), dt = NativeArrays.floatType(to).orElseThrow();
        NativeArrays.view(nd4j, dt, shape, new long[]{1}, 0).assign(NativeArrays.view(src, st, shape, new long[]{1}, 0));
        long first = java.mismatch(nd4j);
        if (first < 0) return null;
        long i = first / to.byteSize();
        long differing = 0;
        for (long k = 0; k < n; k++) if (bits(java, to, k) != bits(nd4j, to, k)) differing++;
        return "ND4J writes " + hex(bits(nd4j, to, i), to) + " for " + from.torchName() + " " + hex(bits(src, from, i), from)
                + " where the java engine writes " + hex(bits(java, to, i), to)
                + " (" + differing + " of " + n + " probe values differ)";
    }

    private static long bits(MemorySegment s, DType d, long i) {
        return switch (d.byteSize()) {
            case 2 -> s.getAtIndex(I16, i) & 0xFFFFL;
            case 4 -> s.getAtIndex(I32, i) & 0xFFFFFFFFL;
            default -> s.getAtIndex(I64, i);
        };
    }

    private static String hex(long bits, DType d) {
        String h = HexFormat.of().withUpperCase().toHexDigits(bits);
        return "0x" + h.substring(h.length() - 2 * d.byteSize());
    }

    private static MemorySegment inputs(DType d, Arena arena) {
        return switch (d) {
            case FLOAT16, BFLOAT16 -> {
                MemorySegment s = arena.allocate(65536L * 2, 8);
                for (int i = 0; i < 65536; i++) s.setAtIndex(I16, i, (short) i);
                yield s;
            }
            case FLOAT32 -> {
                MemorySegment s = arena.allocate(65536L * LOW_HALVES.length * 4, 8);
                long k = 0;
                for (int hi = 0; hi < 65536; hi++) for (int lo : LOW_HALVES) s.setAtIndex(I32, k++, hi << 16 | lo);
                yield s;
            }
            case FLOAT64 -> {
                int[] lows = {0x8000, 0x1000, 0x0000};
                MemorySegment s = arena.allocate(65536L * lows.length * 3 * 8 + 6 * 8, 8);
                long k = 0;
                for (int hi = 0; hi < 65536; hi++)
                    for (int lo : lows) {
                        double v = Float.intBitsToFloat(hi << 16 | lo);
                        s.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, k++, v);
                        s.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, k++, Math.nextUp(v));
                        s.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, k++, Math.nextDown(v));
                    }
                for (long b : new long[]{0x7FF0000000000001L, 0xFFF8000000000000L, 0x7FF8000000000001L, 0x7FEFFFFFFFFFFFFFL, 0x0000000000000001L, 0x8000000000000000L})
                    s.setAtIndex(I64, k++, b);
                yield s;
            }
            default -> throw new IllegalArgumentException(d.toString());
        };
    }

    static EnumSet<DType> floats() {
        return EnumSet.of(FLOATS[0], FLOATS[1], FLOATS[2], FLOATS[3]);
    }
}
