package ckpt.convert.analysis;

import java.util.Locale;

/**
 * Byte counts for people: exact bytes with digit grouping, and both decimal GB (10^9, what papers and vendor docs
 * mean by "GB") and binary GiB (2^30, what {@code du -h} and {@code ls -h} print as "G").
 */
public final class Units {
    private static final String[] DECIMAL = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    private static final String[] BINARY = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

    private Units() {
    }

    /** 112425298583 → "112,425,298,583". */
    public static String grouped(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    /** Decimal units, two decimals: 112425298583 → "112.43 GB". */
    public static String decimal(long n) {
        return scaled(n, 1000, DECIMAL);
    }

    /** Binary units, two decimals: 112425298583 → "104.70 GiB". */
    public static String binary(long n) {
        return scaled(n, 1024, BINARY);
    }

    /** "112.43 GB / 104.70 GiB", or just "63 B" below 1000 bytes, where both agree. */
    public static String both(long n) {
        if (Math.abs(n) < 1000) return n + " B";
        return decimal(n) + " / " + binary(n);
    }

    /** Exact bytes plus both units: "112,425,298,583 bytes (112.43 GB / 104.70 GiB)". */
    public static String full(long n) {
        return grouped(n) + " bytes" + (Math.abs(n) < 1000 ? "" : " (" + both(n) + ")");
    }

    private static String scaled(long n, int base, String[] units) {
        double v = Math.abs((double) n);
        int u = 0;
        while (v >= base && u < units.length - 1) {
            v /= base;
            u++;
        }
        if (n < 0) v = -v;
        return u == 0 ? n + " B" : String.format(Locale.ROOT, "%.2f %s", v, units[u]);
    }

    /** 10^9-byte gigabytes, rounded to 2 decimals (for JSON). */
    public static double gb(long n) {
        return Math.round(n / 1e7) / 100.0;
    }

    /** 2^30-byte gibibytes, rounded to 2 decimals (for JSON). */
    public static double gib(long n) {
        return Math.round(n / (double) (1L << 30) * 100) / 100.0;
    }
}
