package ckpt.convert.diff;

import ckpt.format.tensor.DType;

import java.lang.foreign.MemorySegment;

/**
 * Running comparison of one tensor pair, fed block by block: count of elements outside the tolerance, the first of
 * them, and the sums behind max/mean abs diff, max rel diff, cosine similarity and relative L2 distance (in double).
 */
final class ElementStats {
    private final double atol, rtol;
    private final boolean numeric;
    long differing;
    long first = -1;
    private long finite;
    private boolean relSeen;
    private double maxAbs, maxRel, sumAbs, dot, normA2, normB2, diff2;

    ElementStats(DType a, DType b, double atol, double rtol) {
        this.atol = atol;
        this.rtol = rtol;
        this.numeric = ElementValues.numeric(a) && ElementValues.numeric(b);
        if (!numeric && a != b) throw new IllegalArgumentException("no element comparison between " + a + " and " + b);
    }

    /** {@code count} elements of each side, the first being element {@code base} of the tensor. */
    void add(MemorySegment a, DType da, MemorySegment b, DType db, long count, long base) {
        if (!numeric) {
            int es = da.byteSize();
            for (long i = 0; i < count; i++)
                if (MemorySegment.mismatch(a, i * es, (i + 1) * es, b, i * es, (i + 1) * es) >= 0) miss(base + i);
            return;
        }
        if (da == db && atol == 0 && rtol == 0 && fastEqual(a, b, count * da.byteSize())) {
            // Bitwise-equal block: only the norms change.
            for (long i = 0; i < count; i++) {
                double x = ElementValues.get(a, da, i);
                if (Double.isFinite(x)) {
                    finite++;
                    if (x != 0) relSeen = true;
                    dot += x * x;
                    normA2 += x * x;
                    normB2 += x * x;
                }
            }
            return;
        }
        for (long i = 0; i < count; i++) {
            double x = ElementValues.get(a, da, i), y = ElementValues.get(b, db, i);
            boolean equal;
            if (Double.isNaN(x) || Double.isNaN(y)) equal = Double.isNaN(x) && Double.isNaN(y);
            else equal = x == y || Math.abs(x - y) <= atol + rtol * Math.abs(y);
            if (!equal) miss(base + i);
            if (Double.isFinite(x) && Double.isFinite(y)) {
                double d = Math.abs(x - y);
                finite++;
                if (d > maxAbs) maxAbs = d;
                if (y != 0) {
                    double r = d / Math.abs(y);
                    relSeen = true;
                    if (r > maxRel) maxRel = r;
                }
                sumAbs += d;
                dot += x * y;
                normA2 += x * x;
                normB2 += y * y;
                diff2 += d * d;
            }
        }
    }

    private static boolean fastEqual(MemorySegment a, MemorySegment b, long bytes) {
        return MemorySegment.mismatch(a, 0, bytes, b, 0, bytes) < 0;
    }

    private void miss(long index) {
        if (differing++ == 0) first = index;
    }

    boolean numeric() {
        return numeric;
    }

    Double maxAbs() {
        return numeric && finite > 0 ? maxAbs : null;
    }

    Double maxRel() {
        return numeric && relSeen ? maxRel : null;
    }

    Double meanAbs() {
        return numeric && finite > 0 ? sumAbs / finite : null;
    }

    Double cosine() {
        if (!numeric || normA2 == 0 || normB2 == 0) return null;
        return Math.max(-1, Math.min(1, dot / (Math.sqrt(normA2) * Math.sqrt(normB2))));
    }

    Double normA() {
        return numeric ? Math.sqrt(normA2) : null;
    }

    Double normB() {
        return numeric ? Math.sqrt(normB2) : null;
    }

    Double relativeL2() {
        return numeric && normB2 > 0 ? Math.sqrt(diff2) / Math.sqrt(normB2) : null;
    }

}
