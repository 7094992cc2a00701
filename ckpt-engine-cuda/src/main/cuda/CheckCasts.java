package ckpt.convert.exec;

import ckpt.format.tensor.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** The java engine's side of check_casts.c: the same hashes, from ElementCast.convert (same package, on purpose). */
public class CheckCasts {
    static final int BLOCK = 1 << 20;

    static long f64Sample(long i) {
        long hi = (i << 2) & 0xFFFFFFFFL;
        long[] lows = {0, 0x10000000L, 0x10000001L, (i * 0x9E3779B97F4A7C15L) >>> 32};
        return (hi << 32) | lows[(int) (i & 3)];
    }

    public static void main(String[] args) {
        DType[] types = {DType.FLOAT32, DType.BFLOAT16, DType.FLOAT16, DType.FLOAT64};
        String[] names = {"float32", "bfloat16", "float16", "float64"};
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate(BLOCK * 8L, 8), out = arena.allocate(BLOCK * 8L, 8);
            for (int s = 0; s < 4; s++) {
                long count = s == 0 ? 1L << 32 : s == 3 ? 1L << 30 : 1L << 16;
                for (int d = 0; d < 4; d++) {
                    if (s == d) continue;
                    long h = 0xCBF29CE484222325L;
                    for (long base = 0; base < count; base += BLOCK) {
                        int n = (int) Math.min(BLOCK, count - base);
                        for (int k = 0; k < n; k++) {
                            long i = base + k;
                            switch (s) {
                                case 0 -> in.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, k, (int) i);
                                case 3 -> in.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, k, f64Sample(i));
                                default -> in.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, k, (short) i);
                            }
                        }
                        ElementCast.convert(in, types[s], out, types[d], n);
                        for (int k = 0; k < n; k++) {
                            long w = switch (types[d].byteSize()) {
                                case 2 -> out.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, k) & 0xFFFFL;
                                case 4 -> out.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, k) & 0xFFFFFFFFL;
                                default -> out.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, k);
                            };
                            h = (h ^ w) * 0x100000001B3L;
                        }
                    }
                    System.out.printf("%s -> %s %016x%n", names[s], names[d], h);
                }
            }
        }
    }
}
