package ckpt.convert.assembly;

import ckpt.format.tensor.Shapes;
import ckpt.format.tensor.StridedView;

import java.lang.foreign.MemorySegment;

/**
 * Copies a box of elements from a strided source into a row-major destination region. Axes of size 1 are dropped
 * and axes contiguous in both source and destination are merged first, so the common cases (a TP chunk into its
 * slot, a layer out of a stacked tensor) become a few long {@link MemorySegment#copy} runs.
 */
public final class StridedCopy {
    private StridedCopy() {
    }

    /**
     * @param src       the stored tensor
     * @param srcStart  first element (per axis) inside the source
     * @param size      extent of the box per axis
     * @param dst       destination segment holding a row-major tensor of {@code dstShape}
     * @param dstShape  shape of the destination tensor
     * @param dstStart  where the box starts inside the destination
     */
    public static void copy(StridedView src, long[] srcStart, long[] size, MemorySegment dst, long[] dstShape, long[] dstStart) {
        Runs r = runs(src, srcStart, size, dstShape, dstStart);
        if (r != null) r.copy(src.storage(), dst);
    }

    /**
     * The box as one contiguous run of the source storage that is also one contiguous run of the destination, or
     * null when it is not (strided, transposed, or a column block): {@code [srcByte, srcByte+bytes)} of the storage
     * goes to {@code [dstByte, dstByte+bytes)} of the destination. An empty box is a run of 0 bytes.
     */
    public static SingleRun singleRun(StridedView src, long[] srcStart, long[] size, long[] dstShape, long[] dstStart) {
        for (long n : size) if (n == 0) return new SingleRun(0, 0, 0);
        Runs r = runs(src, srcStart, size, dstShape, dstStart);
        if (r.outer > 0 || !r.innerContiguous && r.k > 0) return null;
        return new SingleRun(r.sOff * r.es, r.dOff * r.es, r.runBytes);
    }

    /** Bytes {@code [srcByte, srcByte+bytes)} of a stored tensor's storage are bytes {@code [dstByte, …)} of the destination. */
    public record SingleRun(long srcByte, long dstByte, long bytes) {
    }

    /** The box's axes after dropping single ones and merging those contiguous in both tensors; null for an empty box. */
    private static Runs runs(StridedView src, long[] srcStart, long[] size, long[] dstShape, long[] dstStart) {
        int rank = size.length;
        int es = src.dtype().byteSize();
        long[] sStr = src.strides();
        long[] dStr = Shapes.contiguousStrides(dstShape);
        long sOff = src.offset();
        long dOff = 0;
        for (int i = 0; i < rank; i++) {
            if (size[i] == 0) return null;
            sOff += srcStart[i] * sStr[i];
            dOff += dstStart[i] * dStr[i];
        }
        // Collect non-trivial axes, then merge neighbours that are contiguous in both tensors.
        long[] n = new long[rank + 1];
        long[] ss = new long[rank + 1];
        long[] ds = new long[rank + 1];
        int k = 0;
        for (int i = 0; i < rank; i++) {
            if (size[i] == 1) continue;
            if (k > 0 && ss[k - 1] == sStr[i] * size[i] && ds[k - 1] == dStr[i] * size[i]) {
                n[k - 1] *= size[i];
                ss[k - 1] = sStr[i];
                ds[k - 1] = dStr[i];
            } else {
                n[k] = size[i];
                ss[k] = sStr[i];
                ds[k] = dStr[i];
                k++;
            }
        }
        boolean innerContiguous = k == 0 || ss[k - 1] == 1 && ds[k - 1] == 1;
        long runElems = k == 0 ? 1 : innerContiguous ? n[k - 1] : 1;
        int outer = k == 0 ? 0 : innerContiguous ? k - 1 : k;
        return new Runs(es, sOff, dOff, k, n, ss, ds, innerContiguous, outer, runElems * es);
    }

    /** Element offsets of the box's first element, the merged axes (extents, strides), and the innermost run. */
    private record Runs(int es, long sOff, long dOff, int k, long[] n, long[] ss, long[] ds, boolean innerContiguous,
                        int outer, long runBytes) {
        void copy(MemorySegment s, MemorySegment dst) {
            long[] idx = new long[Math.max(outer, 1)];
            while (true) {
                long so = sOff, d = dOff;
                for (int i = 0; i < outer; i++) {
                    so += idx[i] * ss[i];
                    d += idx[i] * ds[i];
                }
                MemorySegment.copy(s, so * es, dst, d * es, runBytes);
                int a = outer - 1;
                while (a >= 0) {
                    if (++idx[a] < n[a]) break;
                    idx[a] = 0;
                    a--;
                }
                if (a < 0) return;
            }
        }
    }
}
