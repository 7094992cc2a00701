package ckpt.convert.rotation;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

class RotationPlannerTest {
    static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");
    static final Instant LONG_AGO = NOW.minus(Duration.ofDays(3));

    static CheckpointEntry ckpt(long it, CheckpointState state) {
        return ckpt(CheckpointName.megatronDirName(it), it, state, LONG_AGO, false);
    }

    static CheckpointEntry ckpt(String name, long it, CheckpointState state, Instant modified, boolean latest) {
        CheckpointKind kind = CheckpointName.parse(name).map(CheckpointName::kind).orElse(CheckpointKind.STEP_DIR);
        return new CheckpointEntry(name, kind, it, state, Layout.TORCH_DIST,
                state == CheckpointState.INCOMPLETE ? List.of("no metadata.json") : List.of(), 100, modified, latest, false);
    }

    static CheckpointEntry latest(long it) {
        return ckpt(CheckpointName.megatronDirName(it), it, CheckpointState.COMPLETE, LONG_AGO, true);
    }

    static RetentionPolicy policy(int keepLast, long keepEvery, Set<Long> keep, boolean removeIncomplete, Duration minAge) {
        return new RetentionPolicy(keepLast, keepEvery, keep, removeIncomplete, minAge);
    }

    static Map<Long, Decision> plan(List<CheckpointEntry> entries, RetentionPolicy p) {
        RotationPlan plan = RotationPlanner.plan(entries, p, NOW);
        assertThat(plan.decisions()).extracting(Decision::entry).containsExactlyElementsOf(entries);
        return plan.decisions().stream().collect(Collectors.toMap(d -> d.entry().iteration(), Function.identity()));
    }

    static Set<Long> removed(Map<Long, Decision> plan) {
        return plan.values().stream().filter(Decision::remove).map(d -> d.entry().iteration()).collect(Collectors.toSet());
    }

    static final CheckpointState C = CheckpointState.COMPLETE;
    static final CheckpointState I = CheckpointState.INCOMPLETE;

    @Test
    void keepLastKeepsTheNewestComplete() {
        var p = plan(List.of(ckpt(100, C), ckpt(200, C), ckpt(300, C), ckpt(400, C), latest(500)), RetentionPolicy.keepLast(2));
        assertThat(removed(p)).containsExactlyInAnyOrder(100L, 200L, 300L);
        assertThat(p.get(400L).reasons()).containsExactly(Reason.KEEP_LAST);
        assertThat(p.get(500L).reasons()).containsExactly(Reason.TRACKER_LATEST, Reason.NEWEST_COMPLETE, Reason.KEEP_LAST);
        assertThat(p.get(100L).reasons()).containsExactly(Reason.NOT_RETAINED);
    }

    @Test
    void keepEveryAndNamedAddToKeepLast() {
        var entries = List.of(ckpt(100, C), ckpt(200, C), ckpt(300, C), ckpt(400, C), ckpt(500, C), latest(600));
        var p = plan(entries, policy(1, 200, Set.of(100L), false, Duration.ofHours(1)));
        assertThat(removed(p)).containsExactlyInAnyOrder(300L, 500L);
        assertThat(p.get(200L).reasons()).containsExactly(Reason.KEEP_EVERY);
        assertThat(p.get(400L).reasons()).containsExactly(Reason.KEEP_EVERY);
        assertThat(p.get(100L).reasons()).containsExactly(Reason.NAMED);
        assertThat(p.get(600L).reasons()).contains(Reason.KEEP_EVERY, Reason.NEWEST_COMPLETE);
    }

    @Test
    void theTrackersLatestIsKeptEvenWhenOld() {
        var entries = List.of(ckpt(100, C), latest(200), ckpt(300, C), ckpt(400, C));
        var p = plan(entries, RetentionPolicy.keepLast(1));
        assertThat(removed(p)).containsExactlyInAnyOrder(100L, 300L);
        assertThat(p.get(200L).reasons()).containsExactly(Reason.TRACKER_LATEST);
        assertThat(p.get(400L).reasons()).containsExactly(Reason.NEWEST_COMPLETE, Reason.KEEP_LAST);
    }

    @Test
    void incompleteNewerThanTheNewestCompleteIsAlwaysKept() {
        var entries = List.of(ckpt(100, C), latest(200), ckpt(300, I), ckpt(400, I));
        var p = plan(entries, policy(1, 0, Set.of(), true, Duration.ZERO));
        assertThat(removed(p)).containsExactly(100L);
        assertThat(p.get(300L).reasons()).containsExactly(Reason.INCOMPLETE_NEWER);
        assertThat(p.get(400L).reasons()).containsExactly(Reason.INCOMPLETE_NEWER);
    }

    @Test
    void olderIncompleteGoesOnlyWithRemoveIncompleteAndMinAge() {
        Instant tenMinutesAgo = NOW.minus(Duration.ofMinutes(10));
        var entries = List.of(ckpt(100, I), ckpt("iter_0000150", 150, I, tenMinutesAgo, false), latest(200));

        var kept = plan(entries, RetentionPolicy.keepLast(1));
        assertThat(removed(kept)).isEmpty();
        assertThat(kept.get(100L).reasons()).containsExactly(Reason.INCOMPLETE_KEPT);

        var oneHour = plan(entries, policy(1, 0, Set.of(), true, Duration.ofHours(1)));
        assertThat(removed(oneHour)).containsExactly(100L);
        assertThat(oneHour.get(100L).reasons()).containsExactly(Reason.INCOMPLETE_STALE);
        assertThat(oneHour.get(150L).reasons()).containsExactly(Reason.INCOMPLETE_RECENT);

        var fiveMinutes = plan(entries, policy(1, 0, Set.of(), true, Duration.ofMinutes(5)));
        assertThat(removed(fiveMinutes)).containsExactlyInAnyOrder(100L, 150L);

        var named = plan(entries, policy(1, 0, Set.of(100L), true, Duration.ZERO));
        assertThat(removed(named)).containsExactly(150L);
        // keep-every does not protect a broken checkpoint that the user asked to clean up
        var every = plan(entries, policy(1, 50, Set.of(), true, Duration.ZERO));
        assertThat(removed(every)).containsExactlyInAnyOrder(100L, 150L);
    }

    @Test
    void withNoCompleteCheckpointEveryIncompleteIsKept() {
        var p = plan(List.of(ckpt(100, I), ckpt(200, I)), policy(1, 0, Set.of(), true, Duration.ZERO));
        assertThat(removed(p)).isEmpty();
    }

    @Test
    void markedEntriesAreFinishedAndReleaseIsNeverRotated() {
        var marked = new CheckpointEntry(".deleting.iter_0000050", CheckpointKind.MEGATRON_ITERATION, 50,
                CheckpointState.DELETING, Layout.UNKNOWN, List.of(), 10, LONG_AGO, false, false);
        var release = new CheckpointEntry("release", CheckpointKind.MEGATRON_RELEASE, 0, C, Layout.TORCH_DIST,
                List.of(), 10, LONG_AGO, false, false);
        var p = RotationPlanner.plan(List.of(release, marked, ckpt(100, C), ckpt(200, C)), RetentionPolicy.keepLast(1), NOW);
        assertThat(p.decisions()).extracting(d -> d.entry().name() + ":" + d.remove() + ":" + d.reasons())
                .containsExactly("release:false:[RELEASE]", ".deleting.iter_0000050:true:[INTERRUPTED]",
                        "iter_0000100:true:[NOT_RETAINED]", "iter_0000200:false:[NEWEST_COMPLETE, KEEP_LAST]");
        assertThat(p.bytesToFree()).isEqualTo(110);
    }

    @Test
    void releaseDoesNotCountAsTheNewestComplete() {
        var release = new CheckpointEntry("release", CheckpointKind.MEGATRON_RELEASE, 0, C, Layout.TORCH_DIST,
                List.of(), 10, LONG_AGO, false, false);
        var p = RotationPlanner.plan(List.of(release, ckpt(100, I)), policy(1, 0, Set.of(), true, Duration.ZERO), NOW);
        assertThat(p.removals()).isEmpty();
        assertThat(p.decisions().get(1).reasons()).containsExactly(Reason.INCOMPLETE_NEWER);
    }

    /**
     * Thousands of random save-dir states and policies. The invariants are stated directly from the rules, not
     * from the planner: what must be kept is kept, and everything else is removed.
     */
    @Test
    void propertyTrackerLatestAndNewestCompleteAreNeverRemoved() {
        java.util.Random rnd = new java.util.Random(20260601L);
        CheckpointKind[] kinds = {CheckpointKind.MEGATRON_ITERATION, CheckpointKind.DEEPSPEED, CheckpointKind.STEP_DIR};
        int removedSomething = 0;
        for (int round = 0; round < 5000; round++) {
            int n = rnd.nextInt(16);
            List<CheckpointEntry> entries = new ArrayList<>();
            Set<Long> used = new HashSet<>();
            int latestIndex = rnd.nextInt(n + 2) - 1; // -1 or n: no tracker match
            for (int i = 0; i < n; i++) {
                long it;
                do it = 1 + rnd.nextInt(60) * 10L; while (!used.add(it));
                CheckpointKind kind = kinds[rnd.nextInt(kinds.length)];
                int s = rnd.nextInt(10);
                CheckpointState state = s < 6 ? CheckpointState.COMPLETE : s < 9 ? CheckpointState.INCOMPLETE : CheckpointState.DELETING;
                String name = switch (kind) {
                    case DEEPSPEED -> "global_step" + it;
                    case STEP_DIR -> "step-" + it;
                    default -> CheckpointName.megatronDirName(it);
                };
                if (state == CheckpointState.DELETING) name = CheckpointName.MARK_PREFIX + name;
                Instant mod = NOW.minusSeconds(rnd.nextInt(4 * 3600) - 600);
                boolean latest = i == latestIndex && state != CheckpointState.DELETING;
                entries.add(new CheckpointEntry(name, kind, it, state, Layout.UNKNOWN, state == CheckpointState.INCOMPLETE
                        ? List.of("x") : List.of(), rnd.nextInt(1000), mod, latest, false));
            }
            if (rnd.nextInt(8) == 0) {
                entries.add(new CheckpointEntry("release", CheckpointKind.MEGATRON_RELEASE, 0,
                        rnd.nextBoolean() ? CheckpointState.COMPLETE : CheckpointState.INCOMPLETE, Layout.UNKNOWN,
                        List.of(), 1, NOW, false, false));
            }
            java.util.Collections.shuffle(entries, rnd);
            Set<Long> named = new HashSet<>();
            for (int k = rnd.nextInt(3); k > 0; k--) named.add(1 + rnd.nextInt(60) * 10L);
            RetentionPolicy policy = new RetentionPolicy(1 + rnd.nextInt(4), rnd.nextInt(3) == 0 ? 0 : 10L * (1 + rnd.nextInt(10)),
                    named, rnd.nextBoolean(), Duration.ofSeconds(rnd.nextInt(3 * 3600)));

            RotationPlan plan = RotationPlanner.plan(entries, policy, NOW);
            String ctx = "round " + round + " policy " + policy + " entries " + entries;
            assertThat(plan.decisions()).as(ctx).extracting(Decision::entry).containsExactlyElementsOf(entries);
            assertThat(plan.decisions()).as(ctx).allMatch(d -> !d.reasons().isEmpty());

            List<CheckpointEntry> complete = entries.stream()
                    .filter(e -> e.state() == CheckpointState.COMPLETE && e.kind() != CheckpointKind.MEGATRON_RELEASE)
                    .sorted((a, b) -> Long.compare(b.iteration(), a.iteration())).toList();
            long newestComplete = complete.isEmpty() ? Long.MIN_VALUE : complete.getFirst().iteration();
            Set<Long> topN = complete.stream().limit(policy.keepLast()).map(CheckpointEntry::iteration).collect(Collectors.toSet());

            for (Decision d : plan.decisions()) {
                CheckpointEntry e = d.entry();
                String why = ctx + " entry " + e.name();
                boolean mustKeep, mayRemove;
                switch (e.state()) {
                    case DELETING -> {
                        mustKeep = false;
                        mayRemove = true;
                    }
                    case COMPLETE -> {
                        mustKeep = e.latest() || e.kind() == CheckpointKind.MEGATRON_RELEASE
                                || e.iteration() == newestComplete || topN.contains(e.iteration())
                                || named.contains(e.iteration())
                                || (policy.keepEvery() > 0 && e.iteration() % policy.keepEvery() == 0);
                        mayRemove = !mustKeep;
                    }
                    default -> {
                        mustKeep = e.latest() || e.kind() == CheckpointKind.MEGATRON_RELEASE
                                || e.iteration() >= newestComplete || named.contains(e.iteration())
                                || !policy.removeIncomplete()
                                || Duration.between(e.modified(), NOW).compareTo(policy.minAge()) < 0;
                        mayRemove = !mustKeep;
                    }
                }
                // The two headline guarantees, spelled out.
                if (e.latest()) assertThat(d.remove()).as("tracker latest removed: " + why).isFalse();
                if (e.state() == CheckpointState.COMPLETE && e.iteration() == newestComplete) {
                    assertThat(d.remove()).as("newest complete removed: " + why).isFalse();
                }
                assertThat(d.remove()).as(why).isEqualTo(mayRemove);
                if (d.remove()) removedSomething++;
            }
        }
        assertThat(removedSomething).as("the generator exercises removals").isGreaterThan(1000);
    }
}
