package ckpt.format.zip;

import ckpt.format.FormatException;

import java.nio.file.Path;

/** A zip archive (a whole {@code torch.save} file or one DCP item window) is malformed, hostile or unsupported. */
public class ZipFormatException extends FormatException {
    public ZipFormatException(Path file, String where, String message) {
        super(file, where, message);
    }

    public ZipFormatException(Path file, String where, String message, Throwable cause) {
        super(file, where, message, cause);
    }

    /** Offset form: "at byte N" (N absolute in the file). */
    public static ZipFormatException atOffset(Path file, long offset, String message) {
        return new ZipFormatException(file, atByte(offset), message);
    }
}
