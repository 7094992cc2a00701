package ckpt.convert.analysis;

import java.util.Locale;

/**
 * The one formatter of quantities for people, used by every command: exact bytes with digit grouping, decimal GB
 * (10^9, what papers and vendor docs mean by "GB") next to binary GiB (2^30, what {@code du -h} and {@code ls -lh}
 * print as "G"), and parameter counts the way model cards write them ({@code 8.03 B}).
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

    /** Decimal then binary, as a size is best read: 5684563859980 → "5.68 TB (5.17 TiB)"; below 1000: "63 B". */
    public static String bytes(long n) {
        if (Math.abs(n) < 1000) return n + " B";
        return decimal(n) + " (" + binary(n) + ")";
    }

    /** A range in one decimal unit: (298996660, 846418983) → "0.30–0.85 GB"; equal ends: "846.42 MB". */
    public static String range(long lo, long hi) {
        if (lo == hi) return decimal(lo);
        long top = Math.max(Math.abs(lo), Math.abs(hi));
        int u = 0;
        double scale = 1;
        while (top / scale >= 100 && u < DECIMAL.length - 1) { // the larger end in [0.1, 100): 0.30–0.85 GB
            scale *= 1000;
            u++;
        }
        if (u == 0) return lo + "–" + hi + " B";
        return String.format(Locale.ROOT, "%.2f–%.2f %s", lo / scale, hi / scale, DECIMAL[u]);
    }

    private static final String[] COUNT = {"", "K", "M", "B", "T"};

    /**
     * Parameter counts as model cards write them: 8030261248 → "8.03 B", 405853388800 → "405.9 B", 124439808 →
     * "124.4 M"; three significant digits, at least one decimal; below 1000 the plain number.
     */
    public static String params(long n) {
        double v = Math.abs((double) n);
        int u = 0;
        while (v >= 1000 && u < COUNT.length - 1) {
            v /= 1000;
            u++;
        }
        if (u == 0) return Long.toString(n);
        String sign = n < 0 ? "-" : "";
        String digits = v >= 100 ? String.format(Locale.ROOT, "%.1f", v) : v >= 10 ? String.format(Locale.ROOT, "%.1f", v)
                : String.format(Locale.ROOT, "%.2f", v);
        return sign + digits + " " + COUNT[u];
    }

    /** A share of a whole as a percentage for people: "14.3%", "0.46%", "0.0046%", "<0.0001%". */
    public static String percent(double share) {
        double p = 100 * share;
        double a = Math.abs(p);
        if (a == 0) return "0%";
        if (a < 0.0001) return (p < 0 ? "-" : "") + "<0.0001%";
        if (a >= 10) return String.format(Locale.ROOT, "%.1f%%", p);
        if (a >= 0.1) return String.format(Locale.ROOT, "%.2f%%", p);
        return String.format(Locale.ROOT, "%.2g%%", p);
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
