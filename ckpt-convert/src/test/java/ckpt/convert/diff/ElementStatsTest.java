package ckpt.convert.diff;

import ckpt.format.tensor.DType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class ElementStatsTest {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static MemorySegment f32(Arena arena, float... v) {
        MemorySegment s = arena.allocate(4L * v.length);
        for (int i = 0; i < v.length; i++) s.setAtIndex(F32, i, v[i]);
        return s;
    }

    @Test
    void statisticsByHand() {
        try (Arena arena = Arena.ofConfined()) {
            ElementStats s = new ElementStats(DType.FLOAT32, DType.FLOAT32, 0, 0);
            // a = [1, 2, 3, 4], b = [1, 2, 3.5, 0]: two differ (index 2 first); |d| = 0.5, 4; rel only where b != 0: 0.5/3.5.
            s.add(f32(arena, 1, 2, 3, 4), DType.FLOAT32, f32(arena, 1, 2, 3.5f, 0), DType.FLOAT32, 4, 10);
            assertThat(s.differing).isEqualTo(2);
            assertThat(s.first).isEqualTo(12);
            assertThat(s.maxAbs()).isEqualTo(4.0);
            assertThat(s.maxRel()).isCloseTo(0.5 / 3.5, within(1e-15));
            assertThat(s.meanAbs()).isEqualTo(4.5 / 4);
            double dot = 1 + 4 + 10.5, na = Math.sqrt(30), nb = Math.sqrt(1 + 4 + 12.25);
            assertThat(s.cosine()).isCloseTo(dot / (na * nb), within(1e-15));
            assertThat(s.relativeL2()).isCloseTo(Math.sqrt(0.25 + 16) / nb, within(1e-15));
        }
    }

    @Test
    void tolerancesNanAndCrossDtype() {
        try (Arena arena = Arena.ofConfined()) {
            ElementStats tol = new ElementStats(DType.FLOAT32, DType.FLOAT32, 0.1, 0.01);
            // 0.05 <= 0.1 + 0.01*1 and 2 <= 0.1 + 0.01*200: equal; NaN vs NaN equal; NaN vs 0 differs.
            tol.add(f32(arena, 1.05f, 202, Float.NaN, Float.NaN), DType.FLOAT32, f32(arena, 1, 200, Float.NaN, 0), DType.FLOAT32, 4, 0);
            assertThat(tol.differing).isEqualTo(1);
            assertThat(tol.first).isEqualTo(3);

            // bf16 1.5 (0x3FC0) against fp32 1.5: equal values across dtypes.
            MemorySegment bf = arena.allocate(2);
            bf.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, (short) 0x3FC0);
            ElementStats x = new ElementStats(DType.BFLOAT16, DType.FLOAT32, 0, 0);
            x.add(bf, DType.BFLOAT16, f32(arena, 1.5f), DType.FLOAT32, 1, 0);
            assertThat(x.differing).isZero();
            assertThat(x.cosine()).isEqualTo(1.0);
        }
    }
}
