package ckpt.convert.plan;

/**
 * Divides an ordered list of work units (output files, records, checked byte ranges) into N contiguous parts of
 * about equal bytes. A unit goes to the part that holds its byte midpoint, so every part is within one unit of
 * {@code total / N}; with no bytes at all units are divided by count. Pure arithmetic on the plan: every process
 * of an array computes the same division.
 */
public final class PartSplit {
    private PartSplit() {
    }

    /** The 0-based part of each unit, non-decreasing. */
    public static int[] assign(long[] bytes, int parts) {
        if (parts < 1) throw new IllegalArgumentException("parts must be positive");
        int n = bytes.length;
        int[] out = new int[n];
        double total = 0;
        for (long b : bytes) {
            if (b < 0) throw new IllegalArgumentException("negative unit size " + b);
            total += b;
        }
        double before = 0;
        for (int i = 0; i < n; i++) {
            double mid = total > 0 ? (before + bytes[i] / 2.0) / total : (i + 0.5) / n;
            out[i] = Math.min(parts - 1, (int) Math.floor(mid * parts));
            before += bytes[i];
        }
        return out;
    }

    /** Whether unit {@code unit} of {@code bytes} belongs to {@code part}. */
    public static boolean[] mine(long[] bytes, PartSpec part) {
        int[] a = assign(bytes, part.count());
        boolean[] m = new boolean[a.length];
        for (int i = 0; i < a.length; i++) m[i] = a[i] == part.zeroBased();
        return m;
    }
}
