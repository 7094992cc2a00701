package ckpt.convert.analysis;

import java.util.Comparator;

/** Names in the order people expect: digit runs compare as numbers, so {@code __2_0} comes before {@code __10_0}. */
public final class NaturalOrder implements Comparator<String> {
    public static final NaturalOrder INSTANCE = new NaturalOrder();

    private NaturalOrder() {
    }

    @Override
    public int compare(String a, String b) {
        int i = 0, j = 0;
        while (i < a.length() && j < b.length()) {
            char x = a.charAt(i), y = b.charAt(j);
            if (Character.isDigit(x) && Character.isDigit(y)) {
                int si = i, sj = j;
                while (i < a.length() && Character.isDigit(a.charAt(i))) i++;
                while (j < b.length() && Character.isDigit(b.charAt(j))) j++;
                int c = compareDigits(a.substring(si, i), b.substring(sj, j));
                if (c != 0) return c;
            } else {
                if (x != y) return Character.compare(x, y);
                i++;
                j++;
            }
        }
        int c = Integer.compare(a.length() - i, b.length() - j);
        return c != 0 ? c : a.compareTo(b);
    }

    /** Numeric order of two digit runs of any length (no overflow): fewer significant digits is smaller. */
    private static int compareDigits(String x, String y) {
        String a = x.replaceFirst("^0+(?=.)", ""), b = y.replaceFirst("^0+(?=.)", "");
        if (a.length() != b.length()) return Integer.compare(a.length(), b.length());
        return a.compareTo(b);
    }
}
