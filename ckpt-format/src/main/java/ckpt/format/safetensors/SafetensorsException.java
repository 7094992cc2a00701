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
        return new SafetensorsException(file, "at byte " + offset, message);
    }

    /** Tensor form: "tensor 'name'". */
    public static SafetensorsException forTensor(Path file, String tensor, String message) {
        return new SafetensorsException(file, "tensor '" + tensor + "'", message);
    }
}
