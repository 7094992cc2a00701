package ckpt.convert.engine;

/** The engine a user chose is not installed or cannot run here; the message is the one line to show (exit 1). */
public final class EngineUnavailableException extends RuntimeException {
    public EngineUnavailableException(String message) {
        super(message);
    }
}
