package ckpt.convert.rotation;

import java.time.Instant;
import java.util.List;

/**
 * A rotation's decisions, one per checkpoint, in listing order (oldest first).
 *
 * @param policy    the policy planned with
 * @param now       the time ages were measured against
 * @param decisions one per checkpoint
 */
public record RotationPlan(RetentionPolicy policy, Instant now, List<Decision> decisions) {
    public RotationPlan {
        decisions = List.copyOf(decisions);
    }

    public List<Decision> removals() {
        return decisions.stream().filter(Decision::remove).toList();
    }

    public long bytesToFree() {
        return removals().stream().mapToLong(d -> d.entry().sizeBytes()).sum();
    }
}
