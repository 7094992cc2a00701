package ckpt.convert.rotation;

import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** list on DeepSpeed save dirs: per-tag status from the rank files, and {@code latest} as the tracker. */
class DeepSpeedSaveDirTest {
    @TempDir
    Path tmp;

    private final SaveDirLister lister = new SaveDirLister(
            new FileLevelCompletenessCheck().then(new DcpCompletenessCheck()).then(new DeepSpeedCompletenessCheck()));

    /** global_step4 as saved; global_step8, global_step12 and global_step16 copies damaged in different ways. */
    private Path saveDir() throws Exception {
        Path save = Fixtures.copyTree(Fixtures.path("deepspeed-zero3-llama-dp2"), tmp.resolve("save"));
        Path step4 = save.resolve("global_step4");
        Path step8 = Fixtures.copyTree(step4, save.resolve("global_step8"));
        Files.delete(step8.resolve("bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt"));
        Files.delete(step8.resolve("zero_pp_rank_1_mp_rank_00_model_states.pt"));
        Path step12 = Fixtures.copyTree(step4, save.resolve("global_step12"));
        try (RandomAccessFile f = new RandomAccessFile(step12.resolve("bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt").toFile(), "rw")) {
            f.setLength(f.length() - 100);
        }
        Path step16 = Fixtures.copyTree(step4, save.resolve("global_step16"));
        Files.delete(step16.resolve("bf16_zero_pp_rank_0_mp_rank_00_optim_states.pt"));
        return save;
    }

    @Test
    void statusComesFromEveryRankFile() throws Exception {
        SaveDirListing l = lister.list(saveDir());
        assertThat(l.entries()).extracting(CheckpointEntry::name)
                .containsExactly("global_step4", "global_step8", "global_step12", "global_step16");
        assertThat(l.entries()).allMatch(e -> e.kind() == CheckpointKind.DEEPSPEED && e.layout() == Layout.DEEPSPEED);
        CheckpointEntry step4 = l.entries().get(0), step8 = l.entries().get(1), step12 = l.entries().get(2), step16 = l.entries().get(3);
        assertThat(step4.isComplete()).isTrue();
        assertThat(step4.latest()).isTrue();
        // Names alone look like a world size of 1; the saved partition_count says 2.
        assertThat(step8.isComplete()).isFalse();
        assertThat(String.join(" ", step8.problems())).contains("rank 1").contains("world size 2");
        assertThat(step12.isComplete()).isFalse();
        assertThat(String.join(" ", step12.problems())).contains("rank 1");
        assertThat(step16.isComplete()).isFalse();
        assertThat(step16.problems()).containsExactly("no optimizer states of rank 0");
        assertThat(l.trackers()).singleElement().satisfies(t -> {
            assertThat(t.file()).isEqualTo(Tracker.DEEPSPEED_FILE);
            assertThat(t.names()).isEqualTo("global_step4");
            assertThat(t.exists()).isTrue();
        });
    }
}
