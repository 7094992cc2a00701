package ckpt.bench.jmh;

import ckpt.convert.assembly.StridedCopy;
import ckpt.format.tensor.DType;
import ckpt.format.tensor.StridedView;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;

/**
 * Copy and dtype-cast kernels on 64 MiB of bf16 data (beyond any cache, so memory bandwidth decides). Every
 * benchmark moves {@link #BYTES} source bytes per operation: GB/s = {@code BYTES} × ops/s. The baseline is a plain
 * {@link MemorySegment#copy}; {@code naive*} are scalar element-by-element conversions, the floor a real cast
 * kernel must beat.
 *
 * <p>To add the cast kernels of {@code ckpt.convert} (branch {@code convert}): one {@code @Benchmark} per
 * conversion reading {@link #bf16} (or {@link #fp32}) and writing {@link #fp32Out} (or {@link #bf16Out}), so its
 * figure compares directly with the naive loops and the copy baseline here.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class CopyKernelsBench {
    public static final long BYTES = 64L << 20;
    static final long ROWS = 4096, COLS = BYTES / 2 / ROWS; // a bf16 matrix [4096, 8192]

    private Arena arena;
    /** bf16 [ROWS, COLS] source, and a destination of the same size. */
    MemorySegment bf16, bf16Out;
    /** fp32 with the same element count (twice the bytes), for casts. */
    MemorySegment fp32, fp32Out;

    @Setup
    public void allocate() {
        arena = Arena.ofShared();
        bf16 = arena.allocate(BYTES, 64);
        bf16Out = arena.allocate(BYTES, 64);
        fp32 = arena.allocate(BYTES * 2, 64);
        fp32Out = arena.allocate(BYTES * 2, 64);
        for (long i = 0; i < BYTES / 2; i++) bf16.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) (0x3C00 + (i % 977)));
        for (long i = 0; i < BYTES / 2; i++) fp32.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) Math.sin(i));
    }

    @TearDown
    public void free() {
        arena.close();
    }

    /** Baseline: one bulk copy of the 64 MiB. */
    @Benchmark
    public MemorySegment segmentCopy() {
        MemorySegment.copy(bf16, 0, bf16Out, 0, BYTES);
        return bf16Out;
    }

    /** StridedCopy of a contiguous tensor into a destination of the same shape (merges to one run). */
    @Benchmark
    public MemorySegment stridedCopyContiguous() {
        StridedView src = StridedView.contiguous(bf16, DType.BFLOAT16, new long[]{ROWS, COLS});
        StridedCopy.copy(src, new long[]{0, 0}, new long[]{ROWS, COLS}, bf16Out, new long[]{ROWS, COLS}, new long[]{0, 0});
        return bf16Out;
    }

    /** Two TP halves of a row-parallel weight ([ROWS, COLS/2] chunks) into their column slots: ROWS runs per half. */
    @Benchmark
    public MemorySegment stridedCopyTpColumnHalves() {
        long half = COLS / 2;
        for (int r = 0; r < 2; r++) {
            MemorySegment part = bf16.asSlice(r * BYTES / 2, BYTES / 2);
            StridedView src = StridedView.contiguous(part, DType.BFLOAT16, new long[]{ROWS, half});
            StridedCopy.copy(src, new long[]{0, 0}, new long[]{ROWS, half}, bf16Out, new long[]{ROWS, COLS}, new long[]{0, r * half});
        }
        return bf16Out;
    }

    /** A transposed (non-contiguous) source: element-sized runs, the worst case StridedCopy handles. */
    @Benchmark
    public MemorySegment stridedCopyTransposed() {
        StridedView src = new StridedView(bf16, DType.BFLOAT16, 0, new long[]{COLS, ROWS}, new long[]{1, COLS});
        StridedCopy.copy(src, new long[]{0, 0}, new long[]{COLS, ROWS}, bf16Out, new long[]{COLS, ROWS}, new long[]{0, 0});
        return bf16Out;
    }

    /** Scalar bf16 → fp32 (a bf16 is the upper half of an fp32): the floor for a cast kernel. */
    @Benchmark
    public MemorySegment naiveBf16ToFp32() {
        long n = BYTES / 2;
        for (long i = 0; i < n; i++) {
            short b = bf16.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i);
            fp32Out.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i, (b & 0xFFFF) << 16);
        }
        return fp32Out;
    }

    /** Scalar fp32 → bf16 with round-to-nearest-even (NaN kept quiet). */
    @Benchmark
    public MemorySegment naiveFp32ToBf16() {
        long n = BYTES / 2;
        for (long i = 0; i < n; i++) {
            int bits = fp32.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
            short out;
            if ((bits & 0x7FFFFFFF) > 0x7F800000) out = (short) ((bits >>> 16) | 0x40);
            else out = (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
            bf16Out.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, out);
        }
        return bf16Out;
    }
}
