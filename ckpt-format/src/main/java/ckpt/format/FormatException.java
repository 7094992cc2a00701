package ckpt.format;

import java.nio.file.Path;

/**
 * A checkpoint file (or directory) is not what its format promises: truncated, corrupt, hostile, or of a kind ckpt
 * does not support. The message is one line a user can act on and always names the file; {@link #where()} adds
 * the byte offset or the tensor key when known.
 */
public class FormatException extends RuntimeException {
    private final Path file;
    private final String where;

    public FormatException(Path file, String where, String message) {
        this(file, where, message, null);
    }

    public FormatException(Path file, String where, String message, Throwable cause) {
        super(compose(file, where, message), cause);
        this.file = file;
        this.where = where;
    }

    public FormatException(Path file, String message, Throwable cause) {
        this(file, null, message, cause);
    }

    public FormatException(Path file, String message) {
        this(file, null, message, null);
    }

    /** Offset form: "at byte N". */
    public static FormatException atOffset(Path file, long offset, String message) {
        return new FormatException(file, atByte(offset), message);
    }

    /** The {@link #where()} of an error at a byte offset, worded the same for every format: "at byte N". */
    public static String atByte(long offset) {
        return "at byte " + offset;
    }

    public Path file() {
        return file;
    }

    /** Byte offset ("at byte 123"), key ("key decoder.layers…") or null. */
    public String where() {
        return where;
    }

    private static String compose(Path file, String where, String message) {
        StringBuilder sb = new StringBuilder();
        if (file != null) sb.append(file).append(": ");
        sb.append(message);
        if (where != null && !where.isEmpty()) sb.append(" (").append(where).append(')');
        return sb.toString();
    }
}
