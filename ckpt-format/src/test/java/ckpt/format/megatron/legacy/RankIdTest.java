package ckpt.format.megatron.legacy;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Rank directory names as Megatron's get_checkpoint_name writes them (FORMATS.md §4.8). */
class RankIdTest {
    @Test
    void namesCarrySuffixesOnlyForParallelismInUse() {
        RankId r = new RankId(3, 5, 1);
        assertThat(r.dirName(false, false)).isEqualTo("mp_rank_03");
        assertThat(r.dirName(true, false)).isEqualTo("mp_rank_03_005");
        assertThat(r.dirName(false, true)).isEqualTo("mp_rank_03_001");
        assertThat(r.dirName(true, true)).isEqualTo("mp_rank_03_005_001");
        assertThat(new RankId(12, 0, 0).dirName(false, false)).isEqualTo("mp_rank_12");
    }

    @Test
    void theSameNameReadsDifferentlyWithPipelineOrExpertParallelism() {
        assertThat(RankId.parse("mp_rank_01_002", true, false)).contains(new RankId(1, 2, 0));
        assertThat(RankId.parse("mp_rank_01_002", false, true)).contains(new RankId(1, 0, 2));
        assertThat(RankId.parse("mp_rank_01_002_003", true, true)).contains(new RankId(1, 2, 3));
        assertThat(RankId.parse("mp_rank_01_002", false, false)).isEmpty();
        assertThat(RankId.parse("mp_rank_01", true, false)).isEmpty();
    }

    @Test
    void otherNamesAreNotRankDirs() {
        assertThat(RankId.isRankDirName("mp_rank_00")).isTrue();
        assertThat(RankId.numbers("mp_rank_00_001_002")).contains(List.of(0, 1, 2));
        for (String n : List.of("mp_rank_0", "mp_rank_00_1", "mp_rank_xx", "mp_rank_00_001_002_003", "iter_0000001",
                "mp_rank_99999999999"))
            assertThat(RankId.isRankDirName(n) && RankId.numbers(n).isPresent()).as(n).isFalse();
    }
}
