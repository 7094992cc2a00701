package ckpt.format.pickle;

import ckpt.format.FormatException;
import java.nio.file.Path;

/** A pickle stream is malformed, truncated, hostile or uses an opcode ckpt does not accept. */
public class PickleException extends FormatException {
    public PickleException(Path file, long offset, String message) {
        this(file, offset, message, null);
    }

    public PickleException(Path file, long offset, String message, Throwable cause) {
        super(file, atByte(offset), null, offset, message, cause);
    }
}
