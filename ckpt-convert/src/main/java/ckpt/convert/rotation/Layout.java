package ckpt.convert.rotation;

/** The on-disk layout found inside a checkpoint directory (FORMATS.md §3.1, §4.2, §4.8, §6.1). */
public enum Layout {
    TORCH_DIST("torch_dist"),
    LEGACY_TORCH("legacy_torch"),
    DCP("dcp"),
    DEEPSPEED("deepspeed"),
    /** Nothing recognisable (yet): an empty or just-created directory. */
    UNKNOWN("unknown");

    private final String id;

    Layout(String id) {
        this.id = id;
    }

    /** Stable lower-case id used in JSON output. */
    public String id() {
        return id;
    }
}
