package ckpt.cli;

import java.io.FilterWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;

/**
 * Bytes from a checkpoint (tensor names, pickle text, file names) must never reach a terminal raw: an ESC sequence
 * in a tensor name could retitle the window, clear the screen or fake output. Every human output and the error
 * printer go through here; control characters (C0 except newline, DEL, C1, line/paragraph separators) become
 * {@code \\uXXXX}, as JSON output already escapes them.
 */
final class TerminalText {
    private TerminalText() {
    }

    static boolean isControl(char c) {
        return (c < 0x20 && c != '\n') || (c >= 0x7F && c <= 0x9F) || c == 0x2028 || c == 0x2029;
    }

    /** {@code s} with every control character (newlines too: one line stays one line) escaped. */
    static String escape(String s) {
        if (s == null) return "null";
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (isControl(c) || c == '\n') {
                if (sb == null) sb = new StringBuilder(s.length() + 8).append(s, 0, i);
                sb.append(String.format("\\u%04x", (int) c));
            } else if (sb != null) {
                sb.append(c);
            }
        }
        return sb == null ? s : sb.toString();
    }

    /** A writer for a command's human output: what the command prints keeps its newlines, nothing else passes raw. */
    static PrintWriter safe(PrintWriter out) {
        if (out instanceof SafePrintWriter) return out;
        return new SafePrintWriter(out);
    }

    private static final class SafePrintWriter extends PrintWriter {
        SafePrintWriter(Writer out) {
            super(new Escaping(out), false);
        }
    }

    private static final class Escaping extends FilterWriter {
        Escaping(Writer out) {
            super(out);
        }

        @Override
        public void write(int c) throws IOException {
            if (escaped((char) c)) out.write(String.format("\\u%04x", c));
            else out.write(c);
        }

        /*
         * Runs of safe characters pass on in one call: char by char, every character took the lock of the
         * PrintWriter underneath, and inspect --json of a 405B checkpoint (10 MB) spent ~0.3 s here.
         */
        @Override
        public void write(char[] cbuf, int off, int len) throws IOException {
            int run = off;
            for (int i = off; i < off + len; i++) {
                if (escaped(cbuf[i])) {
                    if (i > run) out.write(cbuf, run, i - run);
                    write(cbuf[i]);
                    run = i + 1;
                }
            }
            if (off + len > run) out.write(cbuf, run, off + len - run);
        }

        @Override
        public void write(String str, int off, int len) throws IOException {
            int run = off;
            for (int i = off; i < off + len; i++) {
                if (escaped(str.charAt(i))) {
                    if (i > run) out.write(str, run, i - run);
                    write(str.charAt(i));
                    run = i + 1;
                }
            }
            if (off + len > run) out.write(str, run, off + len - run);
        }

        private static boolean escaped(char c) {
            return isControl(c) && c != '\t';
        }
    }
}
