package ckpt.convert.rotation;

/** What rotation may assume about a checkpoint directory. */
public enum CheckpointState {
    /** Every file the layout needs is there. */
    COMPLETE("complete"),
    /** Files are missing: still being written, or a save that died. */
    INCOMPLETE("incomplete"),
    /** Renamed to a marked name by a rotation that did not finish; the next rotate deletes it. */
    DELETING("deleting");

    private final String id;

    CheckpointState(String id) {
        this.id = id;
    }

    /** Stable lower-case id used in JSON and table output. */
    public String id() {
        return id;
    }
}
