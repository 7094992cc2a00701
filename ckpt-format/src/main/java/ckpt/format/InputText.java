package ckpt.format;

/**
 * Text taken from the input and quoted into an error message: capped, so that a hostile file (a 100 kB string where a
 * dimension belongs, a 4000-digit int) still gets a one-line error a terminal shows whole.
 */
public final class InputText {
    /** At most this many characters of input text appear in a message. */
    public static final int MAX_QUOTED = 200;

    private InputText() {
    }

    /** {@code s} itself when short, else its first {@link #MAX_QUOTED} characters, an ellipsis and its length. */
    public static String excerpt(String s) {
        if (s == null) return "None";
        if (s.length() <= MAX_QUOTED) return s;
        int end = MAX_QUOTED;
        if (Character.isHighSurrogate(s.charAt(end - 1))) end--; // never split a character
        return s.substring(0, end) + "… (" + s.length() + " characters)";
    }
}
