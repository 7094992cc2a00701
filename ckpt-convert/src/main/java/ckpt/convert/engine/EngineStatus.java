package ckpt.convert.engine;

/**
 * Whether a {@link TensorEngine} can run on this machine: {@code detail} names what it runs on when available
 * (e.g. the device or library version) and, when not, the one-line reason a user can act on.
 */
public record EngineStatus(boolean available, String detail) {
    public EngineStatus {
        if (detail == null || detail.isBlank()) throw new IllegalArgumentException("an engine status needs a detail");
    }

    public static EngineStatus available(String detail) {
        return new EngineStatus(true, detail);
    }

    public static EngineStatus unavailable(String reason) {
        return new EngineStatus(false, reason);
    }
}
