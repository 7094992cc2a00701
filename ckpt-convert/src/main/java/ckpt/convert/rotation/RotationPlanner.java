package ckpt.convert.rotation;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Decides what a rotation keeps and removes. A pure function of its inputs: no I/O, no clock.
 *
 * <p>Rules, whatever the policy says: the tracker's latest, the newest complete checkpoint, every incomplete
 * checkpoint newer than it (it may be being written) and Megatron {@code release} are kept; marked entries left by
 * an interrupted rotation are removed. Then complete checkpoints are kept by --keep-last / --keep-every / --keep and
 * removed otherwise; an older incomplete one is removed only with --remove-incomplete and only when it is older than
 * --min-age. {@code release} does not count as "newest complete": it is a release, not a point in training.
 */
public final class RotationPlanner {
    private static final Comparator<CheckpointEntry> NEWEST_FIRST =
            Comparator.comparingLong(CheckpointEntry::iteration).thenComparing(CheckpointEntry::name).reversed();

    private RotationPlanner() {
    }

    public static RotationPlan plan(List<CheckpointEntry> entries, RetentionPolicy policy, Instant now) {
        List<CheckpointEntry> completeNewestFirst = entries.stream()
                .filter(e -> e.isComplete() && !e.isRelease())
                .sorted(NEWEST_FIRST)
                .toList();
        Optional<CheckpointEntry> newestComplete = completeNewestFirst.stream().findFirst();
        Set<String> lastN = new HashSet<>();
        completeNewestFirst.stream().limit(policy.keepLast()).forEach(e -> lastN.add(e.name()));

        List<Decision> out = new ArrayList<>(entries.size());
        for (CheckpointEntry e : entries) {
            out.add(decide(e, policy, now, newestComplete, lastN));
        }
        return new RotationPlan(policy, now, out);
    }

    private static Decision decide(CheckpointEntry e, RetentionPolicy policy, Instant now,
                                   Optional<CheckpointEntry> newestComplete, Set<String> lastN) {
        if (e.state() == CheckpointState.DELETING) return new Decision(e, true, List.of(Reason.INTERRUPTED));

        List<Reason> keep = new ArrayList<>();
        if (e.latest()) keep.add(Reason.TRACKER_LATEST);
        if (e.isRelease()) keep.add(Reason.RELEASE);
        if (newestComplete.isPresent() && newestComplete.get().name().equals(e.name())) keep.add(Reason.NEWEST_COMPLETE);
        if (policy.keep().contains(e.iteration()) && !e.isRelease()) keep.add(Reason.NAMED);

        if (e.isComplete()) {
            if (lastN.contains(e.name())) keep.add(Reason.KEEP_LAST);
            if (policy.keepEvery() > 0 && e.iteration() % policy.keepEvery() == 0 && !e.isRelease()) {
                keep.add(Reason.KEEP_EVERY);
            }
            return keep.isEmpty() ? new Decision(e, true, List.of(Reason.NOT_RETAINED)) : new Decision(e, false, keep);
        }

        // Incomplete.
        boolean newer = newestComplete.isEmpty() || isNewer(e, newestComplete.get());
        if (newer) {
            keep.add(Reason.INCOMPLETE_NEWER);
        } else if (keep.isEmpty()) {
            if (!policy.removeIncomplete()) keep.add(Reason.INCOMPLETE_KEPT);
            else if (Duration.between(e.modified(), now).compareTo(policy.minAge()) < 0) keep.add(Reason.INCOMPLETE_RECENT);
        }
        return keep.isEmpty() ? new Decision(e, true, List.of(Reason.INCOMPLETE_STALE)) : new Decision(e, false, keep);
    }

    /** Newer in training order; a tie in iteration (two writers in one dir) counts as newer, to stay safe. */
    private static boolean isNewer(CheckpointEntry e, CheckpointEntry than) {
        return e.iteration() >= than.iteration();
    }
}
