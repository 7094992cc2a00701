package ckpt.convert.rotation;

import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static ckpt.format.testing.Fixtures.copyTree;
import static ckpt.convert.rotation.RotationFixtures.fingerprint;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class SafeDeleterTest {
    @TempDir
    Path tmp;

    private Path saveDir() throws Exception {
        return copyTree(Fixtures.path(RotationFixtures.TORCH_DIST), tmp.resolve("save"));
    }

    private static Rotator rotator() {
        return new Rotator(new SaveDirLister(), Clock.fixed(Instant.now().plus(Duration.ofDays(1)), ZoneOffset.UTC));
    }

    private static CheckpointEntry entry(Path saveDir, String name) throws Exception {
        return new SaveDirLister().list(saveDir).entries().stream().filter(e -> e.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void symlinksInsideAVictimAreUnlinkedNeverFollowed() throws Exception {
        Path sd = saveDir();
        Path outside = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST).resolve("iter_0000002"), tmp.resolve("precious"));
        Files.writeString(outside.resolve("note.txt"), "do not delete");
        Map<String, String> outsideBefore = fingerprint(outside);
        Path victim = sd.resolve("iter_0000002");
        Files.createSymbolicLink(victim.resolve("dir-link"), outside);
        Files.createSymbolicLink(victim.resolve("file-link"), outside.resolve("note.txt"));
        Files.createSymbolicLink(victim.resolve("up-link"), tmp);

        Removal r = new SafeDeleter(sd).remove(entry(sd, "iter_0000002"));

        assertThat(r.errors()).isEmpty();
        assertThat(r.removed()).isTrue();
        assertThat(Files.exists(victim, LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(Files.exists(sd.resolve(".deleting.iter_0000002"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(fingerprint(outside)).isEqualTo(outsideBefore);
        assertThat(sd.resolve("iter_0000004/.metadata")).exists();
    }

    @Test
    void aVictimThatIsItselfASymlinkIsUnlinkedAndItsTargetLeftAlone() throws Exception {
        Path sd = saveDir();
        Path target = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST).resolve("iter_0000002"), tmp.resolve("other-disk/iter_0000001"));
        Map<String, String> before = fingerprint(target);
        Files.createSymbolicLink(sd.resolve("iter_0000001"), target);

        Removal r = new SafeDeleter(sd).remove(entry(sd, "iter_0000001"));

        assertThat(r.removed()).isTrue();
        assertThat(Files.exists(sd.resolve("iter_0000001"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(fingerprint(target)).isEqualTo(before);
    }

    @Test
    void refusesNamesThatAreNotPlainEntries() throws Exception {
        Path sd = saveDir();
        CheckpointEntry forged = new CheckpointEntry("../save/iter_0000002", CheckpointKind.MEGATRON_ITERATION, 2,
                CheckpointState.COMPLETE, Layout.TORCH_DIST, List.of(), 0, Instant.EPOCH, false, false);
        Map<String, String> before = fingerprint(tmp);
        Removal r = new SafeDeleter(sd).remove(forged);
        assertThat(r.removed()).isFalse();
        assertThat(r.errors()).isNotEmpty();
        assertThat(fingerprint(tmp)).isEqualTo(before);
    }

    @Test
    void aCrashMidDeletionLeavesAMarkedDirThatListShowsAndTheNextRotateFinishes() throws Exception {
        Path sd = saveDir();
        // What a crash after the rename and part of the deletion leaves behind.
        Files.move(sd.resolve("iter_0000002"), sd.resolve(".deleting.iter_0000002"));
        Files.delete(sd.resolve(".deleting.iter_0000002/__0_0.distcp"));
        Files.delete(sd.resolve(".deleting.iter_0000002/metadata.json"));
        Map<String, String> keptBefore = fingerprint(sd.resolve("iter_0000004"));

        CheckpointEntry marked = entry(sd, ".deleting.iter_0000002");
        assertThat(marked.state()).isEqualTo(CheckpointState.DELETING);
        assertThat(marked.iteration()).isEqualTo(2);

        // Even a policy that would keep everything finishes the interrupted deletion.
        Rotator.Result result = rotator().rotate(sd, new RetentionPolicy(10, 0, java.util.Set.of(2L), false,
                Duration.ofHours(1)), false, Duration.ZERO);
        assertThat(result.removals()).extracting(Removal::name, Removal::removed)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(".deleting.iter_0000002", true));
        assertThat(Files.exists(sd.resolve(".deleting.iter_0000002"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(fingerprint(sd.resolve("iter_0000004"))).isEqualTo(keptBefore);
        assertThat(new SaveDirLister().list(sd).entries()).extracting(CheckpointEntry::name).containsExactly("iter_0000004");
    }

    @Test
    void aVictimWhoseSameNameIsAlreadyMarkedIsStillRemoved() throws Exception {
        Path sd = saveDir();
        copyTree(sd.resolve("iter_0000002"), sd.resolve(".deleting.iter_0000002"));
        Removal r = new SafeDeleter(sd).remove(entry(sd, "iter_0000002"));
        assertThat(r.removed()).isTrue();
        assertThat(Files.exists(sd.resolve(".deleting.iter_0000002"))).isFalse();
        assertThat(Files.exists(sd.resolve("iter_0000002"))).isFalse();
    }

    @Test
    void aFailedRemovalIsReportedAndFinishedByTheNextRotate() throws Exception {
        Path sd = saveDir();
        Path stuck = sd.resolve("iter_0000002/__1_0.distcp");
        assumeTrue(RotationFixtures.makeUndeletable(stuck), "this machine cannot make a file undeletable");
        Path markedStuck = sd.resolve(".deleting.iter_0000002/__1_0.distcp");
        try {
            Rotator.Result r = rotator().rotate(sd, RetentionPolicy.keepLast(1), false, Duration.ZERO);
            assertThat(r.allRemoved()).isFalse();
            Removal failed = r.removals().getFirst();
            assertThat(failed.name()).isEqualTo("iter_0000002");
            assertThat(failed.errors()).anyMatch(e -> e.contains("__1_0.distcp"));
            assertThat(new SaveDirLister().list(sd).entries()).extracting(e -> e.name() + "/" + e.state().id())
                    .containsExactly(".deleting.iter_0000002/deleting", "iter_0000004/complete");
        } finally {
            RotationFixtures.makeDeletable(Files.exists(markedStuck) ? markedStuck : stuck);
        }
        Rotator.Result again = rotator().rotate(sd, RetentionPolicy.keepLast(1), false, Duration.ZERO);
        assertThat(again.allRemoved()).isTrue();
        assertThat(again.removals()).extracting(Removal::name).containsExactly(".deleting.iter_0000002");
        assertThat(new SaveDirLister().list(sd).entries()).extracting(CheckpointEntry::name).containsExactly("iter_0000004");
    }

    @Test
    void aSecondRotateFailsClearlyWhileTheLockIsHeld() throws Exception {
        Path sd = saveDir();
        try (RotationLock held = RotationLock.acquire(sd, Duration.ZERO)) {
            Map<String, String> before = fingerprint(sd);
            assertThatThrownBy(() -> rotator().rotate(sd, RetentionPolicy.keepLast(1), false, Duration.ZERO))
                    .isInstanceOf(RotationLockedException.class)
                    .hasMessageContaining(".ckpt-rotate.lock")
                    .hasMessageContaining("another ckpt rotate holds this lock")
                    .hasMessageContaining("--wait");
            assertThatThrownBy(() -> rotator().rotate(sd, RetentionPolicy.keepLast(1), false, Duration.ofMillis(300)))
                    .isInstanceOf(RotationLockedException.class)
                    .hasMessageContaining("after waiting");
            assertThat(fingerprint(sd)).isEqualTo(before);
            // A dry run only reads, so it is not blocked.
            assertThat(rotator().rotate(sd, RetentionPolicy.keepLast(1), true, Duration.ZERO).plan().removals()).hasSize(1);
        }
    }

    @Test
    void withWaitASecondRotateProceedsOnceTheLockIsReleased() throws Exception {
        Path sd = saveDir();
        RotationLock held = RotationLock.acquire(sd, Duration.ZERO);
        CompletableFuture<Void> release = CompletableFuture.runAsync(() -> {
            try {
                Thread.sleep(400);
                held.close();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Rotator.Result r = rotator().rotate(sd, RetentionPolicy.keepLast(1), false, Duration.ofSeconds(20));
        release.get(5, TimeUnit.SECONDS);
        assertThat(r.allRemoved()).isTrue();
        assertThat(r.removals()).extracting(Removal::name).containsExactly("iter_0000002");
    }

    @Test
    void aLockFileThatIsASymlinkOutOfTheSaveDirIsNotFollowed() throws Exception {
        Path sd = saveDir();
        Path outsideFile = Files.writeString(tmp.resolve("outside.txt"), "x");
        Files.createSymbolicLink(sd.resolve(RotationLock.FILE_NAME), outsideFile);
        assertThatThrownBy(() -> RotationLock.acquire(sd, Duration.ZERO)).isInstanceOf(java.io.IOException.class);
        assertThat(Files.readString(outsideFile)).isEqualTo("x");
    }
}
