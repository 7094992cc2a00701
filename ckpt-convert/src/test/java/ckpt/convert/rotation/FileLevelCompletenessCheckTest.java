package ckpt.convert.rotation;

import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static ckpt.format.testing.Fixtures.copyTree;
import static org.assertj.core.api.Assertions.assertThat;

class FileLevelCompletenessCheckTest {
    private final CompletenessCheck check = new FileLevelCompletenessCheck();

    @TempDir
    Path tmp;

    @Test
    void realTorchDistIterationsAreComplete() throws Exception {
        assertThat(check.check(Fixtures.path(RotationFixtures.TORCH_DIST).resolve("iter_0000002")))
                .isEqualTo(CompletenessCheck.Status.complete(Layout.TORCH_DIST));
        assertThat(check.check(Fixtures.path(RotationFixtures.CORE014).resolve("iter_0000004")))
                .isEqualTo(CompletenessCheck.Status.complete(Layout.TORCH_DIST));
    }

    @Test
    void torchDistWithoutMetadataJsonIsAnUnfinishedSave() throws Exception {
        Path it = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST).resolve("iter_0000004"), tmp.resolve("iter_0000004"));
        Files.delete(it.resolve("metadata.json"));
        CompletenessCheck.Status s = check.check(it);
        assertThat(s.complete()).isFalse();
        assertThat(s.layout()).isEqualTo(Layout.TORCH_DIST);
        assertThat(s.problems()).containsExactly("no metadata.json");
    }

    @Test
    void torchDistWithoutOrWithEmptyDotMetadataIsIncomplete() throws Exception {
        Path a = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST).resolve("iter_0000004"), tmp.resolve("iter_0000004"));
        Files.delete(a.resolve(".metadata"));
        assertThat(check.check(a).problems()).containsExactly("no .metadata");

        Path b = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST).resolve("iter_0000002"), tmp.resolve("iter_0000002"));
        Files.write(b.resolve(".metadata"), new byte[0]);
        assertThat(check.check(b).problems()).containsExactly(".metadata is empty");
    }

    @Test
    void aDistcpThatIsADirectoryIsNotReadable() throws Exception {
        Path it = copyTree(Fixtures.path(RotationFixtures.TORCH_DIST).resolve("iter_0000004"), tmp.resolve("iter_0000004"));
        Files.delete(it.resolve("__1_0.distcp"));
        Files.createDirectory(it.resolve("__1_0.distcp"));
        assertThat(check.check(it).problems()).containsExactly("__1_0.distcp is not readable");
    }

    @Test
    void legacyNeedsModelOptimRngInEveryRank() throws Exception {
        Path src = Fixtures.path(RotationFixtures.LEGACY).resolve("iter_0000004");
        assertThat(check.check(src)).isEqualTo(CompletenessCheck.Status.complete(Layout.LEGACY_TORCH));

        Path it = copyTree(src, tmp.resolve("iter_0000004"));
        Files.delete(it.resolve("mp_rank_01/model_optim_rng.pt"));
        CompletenessCheck.Status s = check.check(it);
        assertThat(s.layout()).isEqualTo(Layout.LEGACY_TORCH);
        assertThat(s.problems()).containsExactly("no mp_rank_01/model_optim_rng.pt");
    }

    @Test
    void plainDcpStepDirNeedsOnlyDotMetadata() throws Exception {
        Path step = copyTree(Fixtures.path(RotationFixtures.DCP), tmp.resolve("step-100"));
        assertThat(check.check(step)).isEqualTo(CompletenessCheck.Status.complete(Layout.DCP));
        Files.delete(step.resolve(".metadata"));
        assertThat(check.check(step).problems()).containsExactly("no .metadata");
    }

    @Test
    void deepSpeedNeedsModelStates() throws Exception {
        Path gs = Files.createDirectory(tmp.resolve("global_step10"));
        CompletenessCheck.Status empty = check.check(gs);
        assertThat(empty.complete()).isFalse();
        assertThat(empty.layout()).isEqualTo(Layout.DEEPSPEED);
        Files.write(gs.resolve("zero_pp_rank_0_mp_rank_00_optim_states.pt"), new byte[]{1});
        assertThat(check.check(gs).complete()).isFalse();
        Files.write(gs.resolve("mp_rank_00_model_states.pt"), new byte[]{1});
        assertThat(check.check(gs)).isEqualTo(CompletenessCheck.Status.complete(Layout.DEEPSPEED));
    }

    @Test
    void anEmptyIterationDirIsIncomplete() throws Exception {
        CompletenessCheck.Status s = check.check(Files.createDirectory(tmp.resolve("iter_0000009")));
        assertThat(s.complete()).isFalse();
        assertThat(s.layout()).isEqualTo(Layout.UNKNOWN);
    }

    @Test
    void aDeeperCheckRunsOnlyOnWhatTheFileLevelCheckFoundComplete() throws Exception {
        List<Path> seen = new ArrayList<>();
        CompletenessCheck deeper = dir -> {
            seen.add(dir);
            return CompletenessCheck.Status.incomplete(Layout.TORCH_DIST, List.of("__0_0.distcp is too short"));
        };
        CompletenessCheck chained = check.then(deeper);
        Path good = Fixtures.path(RotationFixtures.TORCH_DIST).resolve("iter_0000002");
        Path empty = Files.createDirectory(tmp.resolve("iter_0000009"));
        assertThat(chained.check(good).problems()).containsExactly("__0_0.distcp is too short");
        assertThat(chained.check(empty).problems()).isEqualTo(check.check(empty).problems());
        assertThat(seen).containsExactly(good);
    }
}
