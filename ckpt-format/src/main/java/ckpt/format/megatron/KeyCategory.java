package ckpt.format.megatron;

/** What a checkpoint entry is, for the size analysis and for choosing what a conversion keeps. */
public enum KeyCategory {
    MODEL_WEIGHT("model weights"),
    OPTIMIZER_MASTER("fp32 master weights (optimizer)"),
    OPTIMIZER_EXP_AVG("Adam exp_avg"),
    OPTIMIZER_EXP_AVG_SQ("Adam exp_avg_sq"),
    OPTIMIZER_OTHER("other optimizer state"),
    /** Elements of flat buffers that belong to no parameter (DeepSpeed's alignment and partition padding). */
    PADDING("alignment padding"),
    EXTRA_STATE("module _extra_state"),
    RNG_STATE("RNG state"),
    COMMON_STATE("common state (args, iteration, scheduler)"),
    OTHER("other");

    private final String description;

    KeyCategory(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }

    /** JSON name, e.g. {@code optimizer_exp_avg}. */
    public String jsonName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
