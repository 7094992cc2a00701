package ckpt.convert.rotation;

/** Why a checkpoint is kept or removed. The ids are part of the JSON schema (docs/ROTATION.md). */
public enum Reason {
    // keep
    TRACKER_LATEST("tracker_latest", "named by the tracker as latest"),
    NEWEST_COMPLETE("newest_complete", "newest complete checkpoint"),
    KEEP_LAST("keep_last", "among the newest --keep-last complete"),
    KEEP_EVERY("keep_every", "iteration is a multiple of --keep-every"),
    NAMED("named", "named by --keep"),
    RELEASE("release", "Megatron release checkpoint (never rotated)"),
    INCOMPLETE_NEWER("incomplete_newer", "incomplete but newer than the newest complete (may be being written)"),
    INCOMPLETE_KEPT("incomplete_kept", "incomplete; pass --remove-incomplete to remove"),
    INCOMPLETE_RECENT("incomplete_recent", "incomplete but modified within --min-age"),
    // remove
    NOT_RETAINED("not_retained", "complete, matched by no keep rule"),
    INCOMPLETE_STALE("incomplete_stale", "incomplete, older than the newest complete, untouched for --min-age"),
    INTERRUPTED("interrupted", "left by an interrupted rotation");

    private final String id;
    private final String text;

    Reason(String id, String text) {
        this.id = id;
        this.text = text;
    }

    public String id() {
        return id;
    }

    public String text() {
        return text;
    }
}
