package ckpt.engine.nd4j;

import ckpt.convert.exec.TensorKernels;
import ckpt.format.tensor.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;

/**
 * The measurement behind {@code --engine auto} (docs/BENCHMARKS.md, "Tensor engines"): one worker's copyBox on a
 * 32 MiB piece (the executor's default) per operation, java kernels against nd4j kernels, best of 7 after warm-up.
 * Not a test: {@code java -cp … ckpt.engine.nd4j.KernelTiming}.
 */
public final class KernelTiming {
    private KernelTiming() {
    }

    public static void main(String[] args) {
        long elems = (32L << 20) / 4;  // a 32 MiB fp32 piece
        long rows = 2048, cols = elems / rows;
        try (Arena arena = Arena.ofShared(); TensorKernels nd4j = new Nd4jEngine().kernels(1)) {
            MemorySegment f32 = arena.allocate(elems * 4, 64), bf16 = arena.allocate(elems * 2, 64);
            MemorySegment out = arena.allocate(elems * 8, 64);
            for (long i = 0; i < elems; i++) f32.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) Math.sin(i));
            TensorKernels.CPU.copyBox(f32, DType.FLOAT32, new long[]{elems}, bf16, DType.BFLOAT16, new long[]{elems}, new long[]{0}, false);
            Object[][] ops = {
                    {"copy fp32 [2048,c] into column half of [2048,2c]", f32, DType.FLOAT32, DType.FLOAT32, new long[]{rows, 2 * cols}, new long[]{0, cols}, false},
                    {"transpose bf16 [2048,c]", bf16, DType.BFLOAT16, DType.BFLOAT16, new long[]{cols, rows}, new long[]{0, 0}, true},
                    {"cast bf16 -> fp32", bf16, DType.BFLOAT16, DType.FLOAT32, new long[]{rows, cols}, new long[]{0, 0}, false},
                    {"cast fp32 -> fp64", f32, DType.FLOAT32, DType.FLOAT64, new long[]{rows, cols}, new long[]{0, 0}, false},
                    {"cast fp32 -> bf16", f32, DType.FLOAT32, DType.BFLOAT16, new long[]{rows, cols}, new long[]{0, 0}, false},
            };
            System.out.printf(Locale.ROOT, "%-50s %12s %12s%n", "operation (32 MiB fp32 / 16 MiB bf16 source)", "java GB/s", "nd4j GB/s");
            for (Object[] op : ops) {
                MemorySegment src = (MemorySegment) op[1];
                DType sd = (DType) op[2], dd = (DType) op[3];
                long[] dstShape = (long[]) op[4], at = (long[]) op[5];
                boolean t = (boolean) op[6];
                long[] srcShape = {rows, cols};
                double j = best(() -> TensorKernels.CPU.copyBox(src, sd, srcShape, out, dd, dstShape, at, t));
                double n = best(() -> nd4j.copyBox(src, sd, srcShape, out, dd, dstShape, at, t));
                double bytes = elems * (sd.byteSize() + dd.byteSize());
                System.out.printf(Locale.ROOT, "%-50s %12.2f %12.2f%n", op[0], bytes / j / 1e9, bytes / n / 1e9);
            }
            System.out.println("nd4j notes: " + nd4j.notes());
        }
    }

    /** Best wall time of 7 runs after 3 warm-up runs, seconds. */
    private static double best(Runnable r) {
        for (int i = 0; i < 3; i++) r.run();
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 7; i++) {
            long t0 = System.nanoTime();
            r.run();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return best;
    }
}
