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
        int rank = size.length;
        int es = src.dtype().byteSize();
        long[] sStr = src.strides();
        long[] dStr = Shapes.contiguousStrides(dstShape);
        long sOff = src.offset();
        long dOff = 0;
        for (int i = 0; i < rank; i++) {
            if (size[i] == 0) return;
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
        if (k == 0) { // a single element
            MemorySegment.copy(src.storage(), sOff * es, dst, dOff * es, es);
            return;
        }
        boolean innerContiguous = ss[k - 1] == 1 && ds[k - 1] == 1;
        long runElems = innerContiguous ? n[k - 1] : 1;
        int outer = innerContiguous ? k - 1 : k;
        long runBytes = runElems * es;
        long[] idx = new long[Math.max(outer, 1)];
        MemorySegment s = src.storage();
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
