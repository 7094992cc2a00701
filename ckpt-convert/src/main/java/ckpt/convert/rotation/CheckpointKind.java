package ckpt.convert.rotation;

/** What wrote a checkpoint directory, told from its name in the save dir. */
public enum CheckpointKind {
    /** Megatron {@code iter_XXXXXXX} (torch_dist, torch_dcp or legacy {@code mp_rank_*} layout). */
    MEGATRON_ITERATION("megatron"),
    /** Megatron {@code release}: iteration 0 by convention; rotate never removes it. */
    MEGATRON_RELEASE("megatron_release"),
    /** DeepSpeed {@code global_stepN}. */
    DEEPSPEED("deepspeed"),
    /** A generic step directory ({@code step-N}, {@code step_N}, {@code checkpoint-N}), e.g. a plain DCP save. */
    STEP_DIR("step_dir");

    private final String id;

    CheckpointKind(String id) {
        this.id = id;
    }

    /** Stable lower-case id used in JSON output. */
    public String id() {
        return id;
    }
}
