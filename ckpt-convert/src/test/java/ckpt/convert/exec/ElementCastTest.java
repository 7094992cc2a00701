package ckpt.convert.exec;

import ckpt.format.tensor.DType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static org.assertj.core.api.Assertions.assertThat;

/** Casting rules against hand-computed bit patterns (IEEE 754 binary16/bfloat16, c10's round_to_nearest_even). */
class ElementCastTest {
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static short bf16(float f) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(4), d = a.allocate(2);
            s.set(F32, 0, f);
            ElementCast.convert(s, DType.FLOAT32, d, DType.BFLOAT16, 1);
            return d.get(I16, 0);
        }
    }

    @Test
    void fp32ToBf16RoundsHalfToEven() {
        assertThat(bf16(1.0f)).isEqualTo((short) 0x3F80);
        assertThat(bf16(1.0f + 0x1p-8f)).isEqualTo((short) 0x3F80);               // halfway, even stays
        assertThat(bf16(1.0f + 3 * 0x1p-8f)).isEqualTo((short) 0x3F82);           // halfway, odd rounds up
        assertThat(bf16(1.0f + 0x1p-8f + 0x1p-20f)).isEqualTo((short) 0x3F81);    // above halfway
        assertThat(bf16(-0.0f)).isEqualTo((short) 0x8000);
        assertThat(bf16(Float.POSITIVE_INFINITY)).isEqualTo((short) 0x7F80);
        assertThat(bf16(Float.MAX_VALUE)).isEqualTo((short) 0x7F80);              // overflows to inf, as torch
        assertThat(bf16(Float.NaN)).isEqualTo((short) 0x7FC0);
    }

    @Test
    void halfFormatsWidenExactlyAndConvertThroughFp32() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment src = a.allocate(4), f32 = a.allocate(8), f16 = a.allocate(4);
            src.setAtIndex(I16, 0, (short) 0x3F81); // bf16 1 + 2^-7
            src.setAtIndex(I16, 1, (short) 0xC049); // bf16 -3.140625
            ElementCast.convert(src, DType.BFLOAT16, f32, DType.FLOAT32, 2);
            assertThat(f32.getAtIndex(F32, 0)).isEqualTo(1.0f + 0x1p-7f);
            assertThat(f32.getAtIndex(F32, 1)).isEqualTo(-3.140625f);
            ElementCast.convert(src, DType.BFLOAT16, f16, DType.FLOAT16, 2);
            assertThat(f16.getAtIndex(I16, 0)).isEqualTo((short) 0x3C08); // binary16 1 + 2^-7
            assertThat(f16.getAtIndex(I16, 1)).isEqualTo((short) 0xC248); // binary16 -3.140625
        }
    }

    @Test
    void transposeWritesColumnsAtTheirRowOffset() {
        try (Arena a = Arena.ofConfined()) {
            // rows 1..2 of a logical [3, 2] matrix → columns 1..2 of the [2, 3] transpose
            MemorySegment src = a.allocate(16), dst = a.allocate(24);
            float[] rows = {10, 11, 20, 21};
            for (int i = 0; i < 4; i++) src.setAtIndex(F32, i, rows[i]);
            ElementCast.transposeInto(src, DType.FLOAT32, 2, 2, dst, DType.FLOAT32, 3, 1);
            assertThat(dst.getAtIndex(F32, 1)).isEqualTo(10f);
            assertThat(dst.getAtIndex(F32, 2)).isEqualTo(20f);
            assertThat(dst.getAtIndex(F32, 4)).isEqualTo(11f);
            assertThat(dst.getAtIndex(F32, 5)).isEqualTo(21f);
        }
    }
}
