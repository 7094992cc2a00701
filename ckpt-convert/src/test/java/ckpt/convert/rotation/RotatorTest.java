package ckpt.convert.rotation;

import ckpt.format.testing.Fixtures;
import ckpt.format.FormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Set;

import static ckpt.format.testing.Fixtures.copyTree;
import static ckpt.convert.rotation.RotationFixtures.fingerprint;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** End to end on copies of the real fixtures. */
class RotatorTest {
    static final Instant NOW = Instant.parse("2030-01-01T00:00:00Z");

    @TempDir
    Path tmp;

    private final Rotator rotator = new Rotator(new SaveDirLister(), Clock.fixed(NOW, ZoneOffset.UTC));

    private static java.util.List<String> names(Path sd) throws Exception {
        return new SaveDirLister().list(sd).entries().stream().map(CheckpointEntry::name).toList();
    }

    @Test
    void keepLastOneOnTheTorchDistFixtureRemovesTheOlderIteration() throws Exception {
        Path sd = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST), tmp.resolve("save"));
        Map<String, String> keptBefore = fingerprint(sd.resolve("iter_0000004"));
        String trackerBefore = Files.readString(sd.resolve(Tracker.MEGATRON_FILE));

        Rotator.Result r = rotator.rotate(sd, RetentionPolicy.keepLast(1), false, Duration.ZERO);

        assertThat(r.allRemoved()).isTrue();
        assertThat(names(sd)).containsExactly("iter_0000004");
        assertThat(fingerprint(sd.resolve("iter_0000004"))).isEqualTo(keptBefore);
        assertThat(Files.readString(sd.resolve(Tracker.MEGATRON_FILE))).isEqualTo(trackerBefore);
        try (var s = Files.list(sd)) {
            assertThat(s.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder("iter_0000004", Tracker.MEGATRON_FILE, RotationLock.FILE_NAME);
        }
    }

    @Test
    void nothingGoesWhenTheTrackerNamesTheOlderIteration() throws Exception {
        Path sd = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST), tmp.resolve("save"));
        Files.writeString(sd.resolve(Tracker.MEGATRON_FILE), "2");
        Rotator.Result r = rotator.rotate(sd, RetentionPolicy.keepLast(1), false, Duration.ZERO);
        assertThat(r.removals()).isEmpty();
        assertThat(names(sd)).containsExactly("iter_0000002", "iter_0000004");
    }

    /** Legacy layout with complete, stale-incomplete, recent-incomplete and in-progress iterations. */
    @Test
    void legacySaveDirWithIncompleteVariants() throws Exception {
        Path src = Fixtures.path(RotationFixtures.LEGACY).resolve("iter_0000004");
        Path sd = Files.createDirectories(tmp.resolve("save"));
        for (int it = 1; it <= 6; it++) copyTree(src, sd.resolve(CheckpointName.megatronDirName(it)));
        Files.delete(sd.resolve("iter_0000002/mp_rank_01/model_optim_rng.pt"));
        Files.delete(sd.resolve("iter_0000003/mp_rank_00/model_optim_rng.pt"));
        Files.delete(sd.resolve("iter_0000006/mp_rank_01/model_optim_rng.pt")); // being written now
        for (int it = 1; it <= 5; it++) RotationFixtures.setMtime(sd.resolve(CheckpointName.megatronDirName(it)), NOW.minus(Duration.ofHours(3)));
        RotationFixtures.setMtime(sd.resolve("iter_0000003"), NOW.minus(Duration.ofMinutes(20)));
        RotationFixtures.setMtime(sd.resolve("iter_0000006"), NOW);
        Files.writeString(sd.resolve(Tracker.MEGATRON_FILE), "4");

        // Without --remove-incomplete: only complete iteration 1 goes.
        Rotator.Result dry = rotator.rotate(sd, RetentionPolicy.keepLast(2), true, Duration.ZERO);
        assertThat(dry.plan().removals()).extracting(d -> d.entry().name()).containsExactly("iter_0000001");

        // With it (min-age 1h): the stale incomplete 2 goes too; 3 (touched 20 min ago) and 6 (newer) stay.
        Rotator.Result r = rotator.rotate(sd, new RetentionPolicy(2, 0, Set.of(), true, Duration.ofHours(1)), false, Duration.ZERO);
        assertThat(r.removals()).extracting(Removal::name).containsExactly("iter_0000001", "iter_0000002");
        assertThat(names(sd)).containsExactly("iter_0000003", "iter_0000004", "iter_0000005", "iter_0000006");

        // min-age 10m: 3 goes as well.
        rotator.rotate(sd, new RetentionPolicy(2, 0, Set.of(), true, Duration.ofMinutes(10)), false, Duration.ZERO);
        assertThat(names(sd)).containsExactly("iter_0000004", "iter_0000005", "iter_0000006");
    }

    @Test
    void dcpStepDirsWithoutTracker() throws Exception {
        Path sd = Files.createDirectories(tmp.resolve("save"));
        for (String s : new String[]{"step-100", "step-200", "step-300"}) copyTree(Fixtures.path(RotationFixtures.DCP), sd.resolve(s));
        Rotator.Result r = rotator.rotate(sd, new RetentionPolicy(1, 200, Set.of(), false, Duration.ofHours(1)), false, Duration.ZERO);
        assertThat(r.removals()).extracting(Removal::name).containsExactly("step-100");
        assertThat(names(sd)).containsExactly("step-200", "step-300");
    }

    @Test
    void dryRunLeavesEveryByteAndCreatesNoLockFile() throws Exception {
        Path sd = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST), tmp.resolve("save"));
        Files.move(sd.resolve("iter_0000002"), sd.resolve(".deleting.iter_0000002"));
        copyTree(Fixtures.path(RotationFixtures.CORE014).resolve("iter_0000004"), sd.resolve("iter_0000003"));
        Map<String, String> before = fingerprint(tmp);
        Rotator.Result r = rotator.rotate(sd, new RetentionPolicy(1, 0, Set.of(), true, Duration.ZERO), true, Duration.ZERO);
        assertThat(r.plan().removals()).extracting(d -> d.entry().name()).containsExactly(".deleting.iter_0000002", "iter_0000003");
        assertThat(r.removals()).isEmpty();
        assertThat(fingerprint(tmp)).isEqualTo(before);
    }

    @Test
    void anUnreadableTrackerStopsTheRotation() throws Exception {
        Path sd = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST), tmp.resolve("save"));
        Files.writeString(sd.resolve(Tracker.MEGATRON_FILE), "");
        Map<String, String> before = fingerprint(sd);
        assertThatThrownBy(() -> rotator.rotate(sd, RetentionPolicy.keepLast(1), false, Duration.ZERO))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining(Tracker.MEGATRON_FILE)
                .hasMessageContaining("empty");
        // Only the lock file is new (and the save dir's own mtime, which its creation bumps).
        Map<String, String> after = fingerprint(sd);
        assertThat(after.remove(RotationLock.FILE_NAME)).isNotNull();
        after.remove("/");
        before.remove("/");
        assertThat(after).isEqualTo(before);
    }

    @Test
    void aTrackerNamingAMissingDirIsAWarning() throws Exception {
        Path sd = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST), tmp.resolve("save"));
        Files.writeString(sd.resolve(Tracker.MEGATRON_FILE), "6");
        Rotator.Result r = rotator.rotate(sd, RetentionPolicy.keepLast(1), true, Duration.ZERO);
        assertThat(r.warnings()).containsExactly(Tracker.MEGATRON_FILE + " names iter_0000006, which does not exist");
    }
}
