package ckpt.convert.reshard;

/** {@code --optimizer}: what becomes of the source's distributed-optimizer state. */
public enum OptimizerChoice {
    /** Per-parameter state as Megatron's {@code fully_reshardable} saves it (resumable at any TP/PP/DP). */
    FULLY_RESHARDABLE("fully_reshardable"),
    /** Model only; the args say {@code no_save_optim} so Megatron starts a fresh optimizer. */
    DROP("drop");

    private final String id;

    OptimizerChoice(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public static OptimizerChoice of(String s) {
        for (OptimizerChoice c : values()) if (c.id.equals(s)) return c;
        throw new IllegalArgumentException("--optimizer must be fully_reshardable or drop, not '" + s + "'");
    }
}
