package ckpt.format.pickle;

import ckpt.format.FormatException;
import java.nio.file.Path;

/** A pickle stream is malformed, truncated, hostile or uses an opcode ckpt does not accept. */
public class PickleException extends FormatException {
    private final long offset;

    public PickleException(Path file, long offset, String message) {
        super(file, atByte(offset), message);
        this.offset = offset;
    }

    public PickleException(Path file, long offset, String message, Throwable cause) {
        super(file, atByte(offset), message, cause);
        this.offset = offset;
    }

    /** Byte offset (from the start of the segment given to the reader) of the opcode that failed. */
    public long offset() {
        return offset;
    }
}
