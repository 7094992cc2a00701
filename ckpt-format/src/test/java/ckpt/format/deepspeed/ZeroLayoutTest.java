package ckpt.format.deepspeed;

import ckpt.format.FormatException;
import ckpt.format.deepspeed.ZeroLayout.Fragment;
import ckpt.format.deepspeed.ZeroLayout.Param;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The flat-partition arithmetic on small cases worked out by hand from zero_to_fp32.py's rules. */
class ZeroLayoutTest {
    private static final ZeroLayout.Blame BLAME = (r, m) -> new FormatException(null, "rank " + r, m);

    @Test
    void zero2ParametersStraddleRanksAndPaddingEndsTheLastPartition() {
        // a[3], b[2,3], c[4]: 13 elements, aligned to 2 × 2 = 4 → 16, 8 per rank.
        List<List<Param>> groups = List.of(List.of(new Param("a", new long[]{3}), new Param("b", new long[]{2, 3}),
                new Param("c", new long[]{4})));
        ZeroLayout.Layout l = ZeroLayout.partitionedGroups(groups, new long[][]{{8}, {8}}, BLAME);
        assertThat(l.fragments()).containsExactly(
                new Fragment("a", 0, 3, 0, 0, 0),
                new Fragment("b", 0, 5, 0, 0, 3),
                new Fragment("b", 5, 1, 1, 0, 0),
                new Fragment("c", 0, 4, 1, 0, 1));
        assertThat(l.padding()[0]).containsExactly(0);
        assertThat(l.padding()[1]).containsExactly(3);
    }

    @Test
    void zero2TwoGroupsAreLaidOutApart() {
        List<List<Param>> groups = List.of(List.of(new Param("a", new long[]{4})), List.of(new Param("b", new long[]{2})));
        ZeroLayout.Layout l = ZeroLayout.partitionedGroups(groups, new long[][]{{2, 2}, {2, 2}}, BLAME);
        assertThat(l.fragments()).containsExactly(
                new Fragment("a", 0, 2, 0, 0, 0), new Fragment("a", 2, 2, 1, 0, 0),
                new Fragment("b", 0, 2, 0, 1, 0));
        assertThat(l.padding()[1]).containsExactly(0, 2);
    }

    @Test
    void zero2UnequalPartitionsNameTheRank() {
        List<List<Param>> groups = List.of(List.of(new Param("a", new long[]{11})));
        // Only the last partition may be shorter (its padding cut off by DeepSpeedZeroOptimizer.state_dict).
        assertThatThrownBy(() -> ZeroLayout.partitionedGroups(groups, new long[][]{{4}, {3}, {4}}, BLAME))
                .hasMessageContaining("rank 1").hasMessageContaining("holds 3 elements, rank 0's holds 4");
        assertThat(ZeroLayout.partitionedGroups(groups, new long[][]{{4}, {4}, {3}}, BLAME).padding()[2]).containsExactly(0);
        assertThatThrownBy(() -> ZeroLayout.partitionedGroups(groups, new long[][]{{4}, {4}, {2}}, BLAME))
                .hasMessageContaining("rank 2").hasMessageContaining("partition too short");
    }

    @Test
    void zero3EachParameterIsSplitOnItsOwn() {
        // a[4] over 3 ranks: 2 each (rank 2 all padding); b[2]: 1 each (rank 2 padding); 3 elements per rank.
        List<Param> params = List.of(new Param("a", new long[]{2, 2}), new Param("b", new long[]{2}));
        ZeroLayout.Layout l = ZeroLayout.partitionedParams(params, new long[][]{{3}, {3}, {1, 2}}, BLAME);
        assertThat(l.fragments()).containsExactly(
                new Fragment("a", 0, 2, 0, 0, 0), new Fragment("a", 2, 2, 1, 0, 0),
                new Fragment("b", 0, 1, 0, 0, 2), new Fragment("b", 1, 1, 1, 0, 2));
        assertThat(l.padding()[0]).containsExactly(0);
        assertThat(l.padding()[1]).containsExactly(0);
        assertThat(l.padding()[2]).containsExactly(1, 2); // rank 2's flat vector is all padding, over two sub-groups
    }

    @Test
    void zero3ShortRankIsNamed() {
        List<Param> params = List.of(new Param("a", new long[]{5}));
        assertThatThrownBy(() -> ZeroLayout.partitionedParams(params, new long[][]{{3}, {2}}, BLAME))
                .hasMessageContaining("rank 1").hasMessageContaining("partition too short");
    }

    @Test
    void zero3SubGroupBoundaryCutsAFragment() {
        List<Param> params = List.of(new Param("a", new long[]{6}));
        ZeroLayout.Layout l = ZeroLayout.partitionedParams(params, new long[][]{{1, 2}, {3}}, BLAME);
        assertThat(l.fragments()).containsExactly(
                new Fragment("a", 0, 1, 0, 0, 0), new Fragment("a", 1, 2, 0, 1, 0), new Fragment("a", 3, 3, 1, 0, 0));
    }
}
