package ckpt.format.safetensors;

/**
 * JSON string literals exactly as two reference writers spell them: Rust {@code serde_json} (safetensors headers:
 * raw UTF-8, only {@code "}, {@code \} and control characters escaped) and Python {@code json.dumps} with its default
 * {@code ensure_ascii=True} (HF index files: everything outside printable ASCII as {@code \}{@code uXXXX}).
 * Both use lowercase hex. Keys are sorted by code point, as Rust and Python compare strings.
 */
final class JsonText {
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private JsonText() {
    }

    static void serde(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!shortEscape(out, c)) {
                if (c < 0x20) unicodeEscape(out, c);
                else out.append(c);
            }
        }
        out.append('"');
    }

    static void pythonAscii(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!shortEscape(out, c)) {
                // Python escapes each UTF-16 unit of an astral character, which is what a Java char already is.
                if (c < 0x20 || c > 0x7E) unicodeEscape(out, c);
                else out.append(c);
            }
        }
        out.append('"');
    }

    private static boolean shortEscape(StringBuilder out, char c) {
        String e = switch (c) {
            case '"' -> "\\\"";
            case '\\' -> "\\\\";
            case '\n' -> "\\n";
            case '\r' -> "\\r";
            case '\t' -> "\\t";
            case '\b' -> "\\b";
            case '\f' -> "\\f";
            default -> null;
        };
        if (e == null) return false;
        out.append(e);
        return true;
    }

    private static void unicodeEscape(StringBuilder out, char c) {
        out.append("\\u").append(HEX[c >> 12 & 0xF]).append(HEX[c >> 8 & 0xF]).append(HEX[c >> 4 & 0xF])
                .append(HEX[c & 0xF]);
    }

    /** Code-point order (= UTF-8 byte order), not Java's UTF-16 order, which differs above U+D7FF. */
    static int compare(String a, String b) {
        int i = 0, j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i), cb = b.codePointAt(j);
            if (ca != cb) return Integer.compare(ca, cb);
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    /** Rust strings cannot hold unpaired surrogates; refuse what the reference could never have written. */
    static String requireWellFormed(String s, String what) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new IllegalArgumentException(what + " contains an unpaired surrogate: " + s);
            }
        }
        return s;
    }
}
