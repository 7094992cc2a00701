package ckpt.convert.rotation;

import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static ckpt.format.testing.Fixtures.copyTree;
import static org.assertj.core.api.Assertions.assertThat;

class SaveDirListerTest {
    @TempDir
    Path tmp;

    private final SaveDirLister lister = new SaveDirLister();

    @Test
    void listsTheRealTorchDistSaveDir() throws Exception {
        Path src = Fixtures.path(RotationFixtures.TORCH_DIST);
        SaveDirListing l = lister.list(src);
        assertThat(l.entries()).extracting(CheckpointEntry::name).containsExactly("iter_0000002", "iter_0000004");
        assertThat(l.entries()).extracting(CheckpointEntry::iteration).containsExactly(2L, 4L);
        assertThat(l.entries()).allMatch(CheckpointEntry::isComplete);
        assertThat(l.entries()).allMatch(e -> e.layout() == Layout.TORCH_DIST);
        // The fixture's tracker says "4".
        assertThat(Files.readString(src.resolve(Tracker.MEGATRON_FILE)).strip()).isEqualTo("4");
        assertThat(l.entries()).extracting(CheckpointEntry::latest).containsExactly(false, true);
        assertThat(l.trackers()).containsExactly(new Tracker(Tracker.MEGATRON_FILE, "4", "iter_0000004", true, null));
        for (CheckpointEntry e : l.entries()) {
            assertThat(e.sizeBytes()).isEqualTo(sumOfFileSizes(src.resolve(e.name())));
            assertThat(e.modified()).isEqualTo(newestMtime(src.resolve(e.name())));
        }
    }

    @Test
    void listsLegacyAndCore014Layouts() throws Exception {
        assertThat(lister.list(Fixtures.path(RotationFixtures.LEGACY)).entries()).singleElement()
                .satisfies(e -> {
                    assertThat(e.layout()).isEqualTo(Layout.LEGACY_TORCH);
                    assertThat(e.isComplete()).isTrue();
                    assertThat(e.latest()).isTrue();
                });
        assertThat(lister.list(Fixtures.path(RotationFixtures.CORE014)).entries()).singleElement()
                .satisfies(e -> assertThat(e.layout()).isEqualTo(Layout.TORCH_DIST));
    }

    @Test
    void showsIncompleteMarkedReleaseAndIgnoresOtherEntries() throws Exception {
        Path sd = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST), tmp.resolve("save"));
        Files.delete(sd.resolve("iter_0000004/metadata.json"));
        copyTree(sd.resolve("iter_0000002"), sd.resolve("release"));
        Files.move(sd.resolve("iter_0000002"), sd.resolve(".deleting.iter_0000002"));
        Files.createDirectories(sd.resolve("runs/tb"));
        Files.createDirectories(sd.resolve("iter_abc"));
        Files.writeString(sd.resolve("step-5"), "a file, not a checkpoint");
        Files.writeString(sd.resolve("zero_to_fp32.py"), "#");

        SaveDirListing l = lister.list(sd);
        assertThat(l.entries()).extracting(CheckpointEntry::name)
                .containsExactly("release", ".deleting.iter_0000002", "iter_0000004");
        CheckpointEntry marked = l.entries().get(1);
        assertThat(marked.state()).isEqualTo(CheckpointState.DELETING);
        assertThat(marked.iteration()).isEqualTo(2);
        CheckpointEntry release = l.entries().get(0);
        assertThat(release.kind()).isEqualTo(CheckpointKind.MEGATRON_RELEASE);
        assertThat(release.isComplete()).isTrue();
        CheckpointEntry four = l.entries().get(2);
        assertThat(four.state()).isEqualTo(CheckpointState.INCOMPLETE);
        assertThat(four.problems()).containsExactly("no metadata.json");
        assertThat(four.latest()).isTrue();
    }

    @Test
    void aTrackerNamingAMissingDirIsReported() throws Exception {
        Path sd = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST), tmp.resolve("save"));
        Files.writeString(sd.resolve(Tracker.MEGATRON_FILE), "8");
        SaveDirListing l = lister.list(sd);
        assertThat(l.trackers()).containsExactly(new Tracker(Tracker.MEGATRON_FILE, "8", "iter_0000008", false, null));
        assertThat(l.entries()).noneMatch(CheckpointEntry::latest);
    }

    @Test
    void releaseTrackerAndUnusableTrackers() throws Exception {
        Path sd = Files.createDirectories(tmp.resolve("save"));
        copyTree(Fixtures.path(RotationFixtures.TORCH_DIST).resolve("iter_0000004"), sd.resolve("release"));
        Files.writeString(sd.resolve(Tracker.MEGATRON_FILE), "release");
        assertThat(lister.list(sd).entries()).singleElement().satisfies(e -> assertThat(e.latest()).isTrue());

        for (String bad : new String[]{"", "  \n", "iter_4", "4.0", "-1"}) {
            Files.writeString(sd.resolve(Tracker.MEGATRON_FILE), bad);
            Tracker t = lister.list(sd).trackers().getFirst();
            assertThat(t.usable()).as("'" + bad + "'").isFalse();
            assertThat(t.problem()).isNotBlank();
        }
        Files.write(sd.resolve(Tracker.MEGATRON_FILE), new byte[10_000]);
        assertThat(lister.list(sd).trackers().getFirst().usable()).isFalse();
    }

    @Test
    void deepSpeedLatestFile() throws Exception {
        Path sd = Files.createDirectories(tmp.resolve("ds"));
        for (String tag : new String[]{"global_step10", "global_step20"}) {
            Path d = Files.createDirectories(sd.resolve(tag));
            Files.copy(Fixtures.path(RotationFixtures.LEGACY).resolve("iter_0000004/mp_rank_00/model_optim_rng.pt"),
                    d.resolve("mp_rank_00_model_states.pt"));
        }
        Files.createDirectories(sd.resolve("global_step30")); // being written
        Files.writeString(sd.resolve(Tracker.DEEPSPEED_FILE), "global_step20");
        SaveDirListing l = lister.list(sd);
        assertThat(l.entries()).extracting(e -> e.name() + "/" + e.state().id() + "/" + e.latest())
                .containsExactly("global_step10/complete/false", "global_step20/complete/true",
                        "global_step30/incomplete/false");
        assertThat(l.entries()).allMatch(e -> e.kind() == CheckpointKind.DEEPSPEED);

        Files.writeString(sd.resolve(Tracker.DEEPSPEED_FILE), "../elsewhere");
        assertThat(lister.list(sd).trackers().getFirst().usable()).isFalse();
    }

    @Test
    void aSymlinkedCheckpointIsListedAsALinkWithoutCountingTheTarget() throws Exception {
        Path sd = Files.createDirectories(tmp.resolve("save"));
        Path elsewhere = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST).resolve("iter_0000004"), tmp.resolve("other/iter_0000004"));
        Files.createSymbolicLink(sd.resolve("iter_0000004"), elsewhere);
        CheckpointEntry e = lister.list(sd).entries().getFirst();
        assertThat(e.symlink()).isTrue();
        assertThat(e.isComplete()).isTrue();
        assertThat(e.sizeBytes()).isZero();
    }

    private static long sumOfFileSizes(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            long total = 0;
            for (Path p : (Iterable<Path>) s::iterator) if (Files.isRegularFile(p)) total += Files.size(p);
            return total;
        }
    }

    private static java.time.Instant newestMtime(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            List<Path> all = s.toList();
            java.time.Instant max = java.time.Instant.EPOCH;
            for (Path p : all) {
                java.time.Instant t = Files.getLastModifiedTime(p).toInstant();
                if (t.isAfter(max)) max = t;
            }
            return max;
        }
    }
}
