package ckpt.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** A plain aligned text table: numeric columns right-aligned, the last column unpadded. */
final class TextTable {
    private final List<String> headers;
    private final boolean[] rightAligned;
    private final List<List<String>> rows = new ArrayList<>();

    /** @param headers column titles; a title starting with '>' marks a right-aligned column (the '>' is dropped) */
    TextTable(String... headers) {
        this.headers = new ArrayList<>();
        this.rightAligned = new boolean[headers.length];
        for (int i = 0; i < headers.length; i++) {
            rightAligned[i] = headers[i].startsWith(">");
            this.headers.add(rightAligned[i] ? headers[i].substring(1) : headers[i]);
        }
    }

    void row(String... cells) {
        if (cells.length != headers.size()) throw new IllegalArgumentException("row has " + cells.length + " cells");
        rows.add(List.of(cells));
    }

    void print(PrintWriter out) {
        int[] width = new int[headers.size()];
        for (int c = 0; c < width.length; c++) {
            width[c] = headers.get(c).length();
            for (List<String> r : rows) width[c] = Math.max(width[c], r.get(c).length());
        }
        line(out, headers, width);
        for (List<String> r : rows) line(out, r, width);
    }

    private void line(PrintWriter out, List<String> cells, int[] width) {
        StringBuilder sb = new StringBuilder();
        for (int c = 0; c < cells.size(); c++) {
            String s = cells.get(c);
            boolean last = c == cells.size() - 1;
            if (c > 0) sb.append("  ");
            if (rightAligned[c]) sb.append(" ".repeat(width[c] - s.length())).append(s);
            else sb.append(s).append(last ? "" : " ".repeat(width[c] - s.length()));
        }
        out.println(sb.toString().stripTrailing());
    }
}
