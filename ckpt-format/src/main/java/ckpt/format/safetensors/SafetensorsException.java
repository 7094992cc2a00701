package ckpt.format.safetensors;

import ckpt.format.FormatException;

import java.nio.file.Path;

/** A safetensors file, blob or sharded directory is malformed, hostile or uses something ckpt does not support. */
public class SafetensorsException extends FormatException {
    public SafetensorsException(Path file, String where, String message) {
        super(file, where, message);
    }

    public SafetensorsException(Path file, String where, String message, Throwable cause) {
        super(file, where, message, cause);
    }

    /** Offset form: "at byte N". */
    public static SafetensorsException atOffset(Path file, long offset, String message) {
        return new SafetensorsException(file, atByte(offset), message);
    }

    /** Tensor form: "tensor 'name'". */
    public static SafetensorsException forTensor(Path file, String tensor, String message) {
        return new SafetensorsException(file, "tensor " + quote(tensor), message);
    }

    /**
     * A name from the file, quoted for a one-line message: control characters escaped, long names shortened
     * (hostile headers can hold megabyte-long keys).
     */
    public static String quote(String name) {
        StringBuilder sb = new StringBuilder("'");
        int limit = Math.min(name.length(), 200);
        for (int i = 0; i < limit; i++) {
            char c = name.charAt(i);
            if (c < 0x20 || c == 0x7F || c == 0x2028 || c == 0x2029) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        if (limit < name.length()) sb.append("...(").append(name.length()).append(" chars)");
        return sb.append('\'').toString();
    }
}
