package ckpt.convert.rotation;

import java.util.List;
import java.util.Objects;

/**
 * The plan for one checkpoint.
 *
 * @param entry   the checkpoint
 * @param remove  true when the rotation removes it
 * @param reasons every rule that applies, strongest first; never empty
 */
public record Decision(CheckpointEntry entry, boolean remove, List<Reason> reasons) {
    public Decision {
        Objects.requireNonNull(entry);
        reasons = List.copyOf(reasons);
        if (reasons.isEmpty()) throw new IllegalArgumentException("a decision needs a reason");
    }
}
