package ckpt.format;

import java.nio.file.Path;

/**
 * A checkpoint file (or directory) is not what its format promises: truncated, corrupt, hostile, or of a kind ckpt
 * does not support. It carries its parts separately — the {@link #file()}, a location ({@link #offset()} in bytes or
 * a tensor {@link #key()}, worded by {@link #where()}) and the bare {@link #detail()} — so that callers re-word or
 * list an error without cutting its message apart. {@link #getMessage()} is the one line a user sees:
 * {@code file: detail (where)}.
 */
public class FormatException extends RuntimeException {
    private final Path file;
    private final String where;
    private final String detail;
    private final String key;
    private final long offset;

    public FormatException(Path file, String where, String detail) {
        this(file, where, detail, null);
    }

    public FormatException(Path file, String where, String detail, Throwable cause) {
        this(file, where, null, -1, detail, cause);
    }

    public FormatException(Path file, String detail, Throwable cause) {
        this(file, null, detail, cause);
    }

    public FormatException(Path file, String detail) {
        this(file, null, detail, null);
    }

    /** Same location (file, key, offset) as {@code at}, with another detail: how a caller adds context. */
    public FormatException(FormatException at, String detail) {
        this(at.file, at.where, at.key, at.offset, detail, at);
    }

    protected FormatException(Path file, String where, String key, long offset, String detail, Throwable cause) {
        super(compose(file, where, oneLine(detail)), cause);
        this.file = file;
        this.where = where;
        this.detail = oneLine(detail);
        this.key = key;
        this.offset = offset;
    }

    /**
     * This error placed in a checkpoint at {@code dir} (a directory, or a single-file checkpoint): one raised where
     * only the tensor was known (no file) names {@code dir}, one naming a file relative to the checkpoint names it
     * under {@code dir}; one naming an absolute file is returned as it is.
     */
    public FormatException under(Path dir) {
        // a file already named by a path under dir (the reader opened dir.resolve(name)) stays as it is: resolving it
        // again would name dir twice when dir itself is relative (ckpt verify leg/iter_0000004)
        if (file != null && (file.isAbsolute() || file.startsWith(dir))) return this;
        Path named = file == null || !java.nio.file.Files.isDirectory(dir) ? dir : dir.resolve(file);
        return new FormatException(named, where, key, offset, detail, this);
    }

    /** Offset form: "at byte N". */
    public static FormatException atOffset(Path file, long offset, String detail) {
        return new FormatException(file, atByte(offset), null, offset, detail, null);
    }

    /** Tensor or item form: "key K". */
    public static FormatException atKey(Path file, String key, String detail) {
        return atKey(file, key, detail, null);
    }

    public static FormatException atKey(Path file, String key, String detail, Throwable cause) {
        return new FormatException(file, keyWhere(key), key, -1, detail, cause);
    }

    /** The {@link #where()} of an error at a byte offset, worded the same for every format: "at byte N". */
    public static String atByte(long offset) {
        return "at byte " + offset;
    }

    /** The {@link #where()} of an error about one tensor or item. */
    public static String keyWhere(String key) {
        return "key " + InputText.excerpt(key);
    }

    public Path file() {
        return file;
    }

    /** Byte offset ("at byte 123"), key ("key decoder.layers…"), another location, or null. */
    public String where() {
        return where;
    }

    /** What is wrong, without file or location. */
    public String detail() {
        return detail;
    }

    /** The tensor or item key the error is about, or null. */
    public String key() {
        return key;
    }

    /** The byte offset the error is at, or -1. */
    public long offset() {
        return offset;
    }

    /**
     * Details are one line: a multi-line cause (e.g. a Jackson message with a source excerpt) keeps its first. Input
     * text quoted into a detail is capped where it is quoted ({@link InputText}); this cap is the last resort for a
     * detail that quoted more than it should.
     */
    private static String oneLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        String line = nl < 0 ? s : s.substring(0, nl).stripTrailing();
        return cap(line, MAX_DETAIL);
    }

    private static String cap(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max) + "… (" + s.length() + " characters)";
    }

    /** Longest detail kept: room for a few capped quotes of input text and the words around them. */
    static final int MAX_DETAIL = 4 * InputText.MAX_QUOTED + 200;

    private static String compose(Path file, String where, String detail) {
        StringBuilder sb = new StringBuilder();
        if (file != null) sb.append(file).append(": ");
        sb.append(detail);
        if (where != null && !where.isEmpty()) sb.append(" (").append(cap(where, 2 * InputText.MAX_QUOTED)).append(')');
        return sb.toString();
    }
}
