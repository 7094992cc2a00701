package ckpt.engine.nd4j;

import ckpt.convert.engine.EngineStatus;
import ckpt.convert.exec.TensorKernels;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;
import ckpt.format.tensor.Shapes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The nd4j kernels against the java kernels, byte for byte, on the bit patterns where casts and copies differ. */
class Nd4jKernelsTest {
    private static final DType[] FLOATS = {DType.FLOAT64, DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16};
    private static TensorKernels nd4j;

    @BeforeAll
    static void start() {
        Nd4jEngine e = new Nd4jEngine();
        EngineStatus s = e.status();
        assertThat(s.available()).as(s.detail()).isTrue();
        nd4j = e.kernels(2);
    }

    @AfterAll
    static void stop() {
        nd4j.close();
    }

    /** Random bits with NaN payloads of both signs, infinities, zeros, subnormals and rounding ties mixed in. */
    private static MemorySegment values(DType d, long n, long seed, Arena arena) {
        MemorySegment s = arena.allocate(n * d.byteSize(), 8);
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < n; i++) {
            long bits = r.nextLong();
            switch ((int) (i % 8)) {
                case 0 -> bits |= 0x7FF0000000000000L | 0x7F8000007F807C00L; // NaN/inf exponents in every width
                case 1 -> bits &= 0x800FFFFFFFFFFFFFL & 0x807FFFFF807F83FFL;  // zero exponents: subnormals
                case 2 -> bits = (bits & ~0xFFFFL) | 0x8000;                     // fp32 → bf16 ties
                case 3 -> bits = (bits & ~0x1FFFL) | 0x1000;                     // fp32 → fp16 ties
                default -> { }
            }
            switch (d.byteSize()) {
                case 2 -> s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) bits);
                case 4 -> s.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i, (int) bits);
                case 8 -> s.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, bits);
                default -> s.set(ValueLayout.JAVA_BYTE, i, (byte) bits);
            }
        }
        return s;
    }

    private static void assertSameBytes(DType sd, long[] srcShape, DType dd, long[] dstShape, long[] at, boolean transpose, long seed) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = values(sd, Shapes.numel(srcShape), seed, arena);
            long dstBytes = Shapes.numel(dstShape) * dd.byteSize();
            MemorySegment a = arena.allocate(dstBytes, 8), b = arena.allocate(dstBytes, 8);
            a.fill((byte) 0x5A);
            b.fill((byte) 0x5A); // bytes outside the box must stay as they were
            TensorKernels.CPU.copyBox(src, sd, srcShape, a, dd, dstShape, at, transpose);
            nd4j.copyBox(src, sd, srcShape, b, dd, dstShape, at, transpose);
            assertThat(b.mismatch(a)).as("%s → %s %s into %s at %s%s", sd, dd, List.of(srcShape), List.of(dstShape),
                    List.of(at), transpose ? " transposed" : "").isEqualTo(-1L);
        }
    }

    @Test
    void everyFloatCastAndCopyMatchesJavaInBoxesAndTransposes() {
        long seed = 1;
        for (DType sd : FLOATS)
            for (DType dd : FLOATS) {
                assertSameBytes(sd, new long[]{4099}, dd, new long[]{4099}, new long[]{0}, false, seed++);
                assertSameBytes(sd, new long[]{3, 5, 7}, dd, new long[]{6, 9, 11}, new long[]{2, 1, 3}, false, seed++);
                assertSameBytes(sd, new long[]{37, 65}, dd, new long[]{80, 50}, new long[]{3, 7}, true, seed++);
                assertSameBytes(sd, new long[]{}, dd, new long[]{}, new long[]{}, false, seed++);
            }
    }

    @Test
    void sameDtypeCopiesOfEveryWidthMoveTheBitsUntouched() {
        long seed = 100;
        for (DType d : new DType[]{DType.INT64, DType.INT32, DType.INT16, DType.UINT8, DType.BOOL, DType.FLOAT8_E4M3FN, DType.COMPLEX128}) {
            assertSameBytes(d, new long[]{5, 33}, d, new long[]{9, 40}, new long[]{4, 7}, false, seed++);
            assertSameBytes(d, new long[]{5, 33}, d, new long[]{40, 9}, new long[]{7, 4}, true, seed++);
        }
    }

    @Test
    void gatherAndFillZeroAreTheJavaKernels() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = values(DType.FLOAT32, 60, 7, arena), b = arena.allocate(240, 8);
            b.copyFrom(a);
            Box box = new Box(new long[]{1, 2}, new long[]{2, 3});
            TensorKernels.CPU.fillZero(a, DType.FLOAT32, new long[]{6, 10}, box);
            nd4j.fillZero(b, DType.FLOAT32, new long[]{6, 10}, box);
            assertThat(b.mismatch(a)).isEqualTo(-1L);
        }
    }

    @Test
    void castsThatFellBackAreNamedWithTheirReason() {
        assertThat(CastProbe.inexactCasts()).isNotNull();
        try (Arena arena = Arena.ofConfined(); TensorKernels k = new Nd4jEngine().kernels(1)) {
            assertThat(k.notes()).isEmpty();
            MemorySegment src = values(DType.FLOAT32, 16, 3, arena), dst = arena.allocate(32, 8);
            k.copyBox(src, DType.FLOAT32, new long[]{16}, dst, DType.FLOAT16, new long[]{16}, new long[]{0}, false);
            k.copyBox(src, DType.FLOAT32, new long[]{16}, dst, DType.FLOAT16, new long[]{16}, new long[]{0}, false);
            CastProbe.Cast c = new CastProbe.Cast(DType.FLOAT32, DType.FLOAT16);
            if (CastProbe.inexactCasts().containsKey(c))
                assertThat(k.notes()).containsExactly("float32 → float16 casts ran on the java kernels: " + CastProbe.inexactCasts().get(c));
            else
                assertThat(k.notes()).isEmpty();
        }
    }
}
