package ckpt.format.pickle;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/** Text decoding for the protocol-0 opcodes and the latin-1 tricks protocol 2 uses for bytes. */
final class PickleText {
    /** Python refuses int() of more digits than this (sys.int_info.default_max_str_digits); so do we. */
    static final int MAX_DIGITS = 4300;

    private PickleText() {}

    /** Each char must be a code point below 256 (how protocol 2 smuggles bytes through str). */
    static byte[] latin1(String s) {
        byte[] out = new byte[s.length()];
        for (int i = 0; i < out.length; i++) {
            char c = s.charAt(i);
            if (c > 0xFF) throw new IllegalArgumentException("character U+" + Integer.toHexString(c) + " is not latin-1");
            out[i] = (byte) c;
        }
        return out;
    }

    static byte[] encode(String s, String encoding) {
        String e = encoding.toLowerCase(Locale.ROOT).replace('_', '-');
        return switch (e) {
            case "latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1", "8859", "cp819" -> latin1(s);
            case "utf-8", "utf8", "u8" -> s.getBytes(StandardCharsets.UTF_8);
            case "ascii", "us-ascii" -> {
                for (int i = 0; i < s.length(); i++) {
                    if (s.charAt(i) > 0x7F) throw new IllegalArgumentException("non-ASCII text for encoding ascii");
                }
                yield s.getBytes(StandardCharsets.US_ASCII);
            }
            default -> throw new IllegalArgumentException("unsupported text encoding '" + encoding + "'");
        };
    }

    /** Python int() of a decimal literal (optional sign, optional trailing L of Python 2 longs). */
    static Object parseInt(String text) {
        String t = text.strip();
        if (t.endsWith("L")) t = t.substring(0, t.length() - 1);
        if (t.isEmpty() || t.length() > MAX_DIGITS + 1) throw new IllegalArgumentException("bad integer literal");
        int start = (t.charAt(0) == '-' || t.charAt(0) == '+') ? 1 : 0;
        if (start == t.length()) throw new IllegalArgumentException("bad integer literal");
        for (int i = start; i < t.length(); i++) {
            if (t.charAt(i) < '0' || t.charAt(i) > '9') throw new IllegalArgumentException("bad integer literal");
        }
        return normalize(new BigInteger(t));
    }

    static Object normalize(BigInteger v) {
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    /** Python float() of a repr: also inf/nan, which Java spells differently. */
    static double parseFloat(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        switch (t) {
            case "inf", "+inf", "infinity", "+infinity": return Double.POSITIVE_INFINITY;
            case "-inf", "-infinity": return Double.NEGATIVE_INFINITY;
            case "nan", "+nan", "-nan": return Double.NaN;
            default:
        }
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (!(c >= '0' && c <= '9') && c != '.' && c != 'e' && c != '-' && c != '+' && c != '_') {
                throw new IllegalArgumentException("bad float literal");
            }
        }
        return Double.parseDouble(t.replace("_", ""));
    }

    /** The body of a protocol-0 STRING: a quoted Python 2 repr; escapes decoded to bytes. */
    static byte[] unquoteString(byte[] line) {
        int n = line.length;
        if (n < 2 || line[0] != line[n - 1] || (line[0] != '\'' && line[0] != '"')) {
            throw new IllegalArgumentException("a quoted text value lacks its quotes");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(n);
        for (int i = 1; i < n - 1; i++) {
            byte b = line[i];
            if (b != '\\') {
                out.write(b);
                continue;
            }
            if (++i >= n - 1) throw new IllegalArgumentException("trailing backslash in STRING");
            byte c = line[i];
            switch (c) {
                case '\n' -> { }
                case '\\', '\'', '"' -> out.write(c);
                case 'n' -> out.write('\n');
                case 't' -> out.write('\t');
                case 'r' -> out.write('\r');
                case 'a' -> out.write(7);
                case 'b' -> out.write(8);
                case 'f' -> out.write(12);
                case 'v' -> out.write(11);
                case 'x' -> {
                    if (i + 2 > n - 2) throw new IllegalArgumentException("truncated \\x escape");
                    out.write(Integer.parseInt(new String(line, i + 1, 2, StandardCharsets.US_ASCII), 16));
                    i += 2;
                }
                default -> {
                    if (c >= '0' && c <= '7') {
                        int v = c - '0';
                        for (int k = 0; k < 2 && i + 1 < n - 1 && line[i + 1] >= '0' && line[i + 1] <= '7'; k++) {
                            v = v * 8 + (line[++i] - '0');
                        }
                        out.write(v & 0xFF);
                    } else {
                        out.write('\\'); // Python keeps unknown escapes verbatim
                        out.write(c);
                    }
                }
            }
        }
        return out.toByteArray();
    }

    /** Python's raw-unicode-escape decoding (protocol-0 UNICODE): latin-1 bytes plus \\uXXXX and \\UXXXXXXXX. */
    static String rawUnicodeEscape(byte[] line) {
        StringBuilder sb = new StringBuilder(line.length);
        for (int i = 0; i < line.length; i++) {
            int b = line[i] & 0xFF;
            if (b == '\\' && i + 1 < line.length && (line[i + 1] == 'u' || line[i + 1] == 'U')) {
                // Only an odd run of backslashes escapes; count the ones before us.
                int run = 0;
                for (int k = i - 1; k >= 0 && line[k] == '\\'; k--) run++;
                if (run % 2 == 0) {
                    int digits = line[i + 1] == 'u' ? 4 : 8;
                    if (i + 2 + digits > line.length) throw new IllegalArgumentException("truncated \\u escape");
                    int cp = Integer.parseUnsignedInt(new String(line, i + 2, digits, StandardCharsets.US_ASCII), 16);
                    if (cp > Character.MAX_CODE_POINT) throw new IllegalArgumentException("\\U escape out of range");
                    sb.appendCodePoint(cp);
                    i += 1 + digits;
                    continue;
                }
            }
            sb.append((char) b);
        }
        return sb.toString();
    }
}
