package ckpt.convert.reshard;

import ckpt.format.FormatException;
import ckpt.format.megatron.MegatronArgs;
import ckpt.format.pickle.PyDict;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Multi-bucket layouts, which no fixture has, worked out by hand from Megatron's
 * {@code DistributedOptimizer._compute_per_buffer_param_layout} (core 0.20) and
 * {@code get_parameter_state_dp_zero}'s concatenation of each bucket's unpadded elements.
 */
class CoalescedLayoutTest {
    private static final Path FILE = Path.of("distrib_optim.pt");

    private static BucketLayout.Param p(String key, long n) {
        return new BucketLayout.Param(key, -1, n);
    }

    private static Map<String, Long> starts(CoalescedLayout l) {
        Map<String, Long> m = new java.util.LinkedHashMap<>();
        for (BucketLayout.Slot s : l.slots()) m.put(s.param().key(), s.start());
        return m;
    }

    @Test
    void bucketsCloseAtTheBucketSizeAndAreConcatenatedUnpadded() {
        // Reverse order d, c, b, a. d [0,64); c at 64 → ends 264 ≥ 250: bucket 0 closes with 264 unpadded elements.
        // b at 0 of bucket 1 (coalesced 264), a at align(30) = 64 (coalesced 328) → ends 164: bucket 1 has 164.
        List<BucketLayout.Param> order = List.of(p("a", 100), p("b", 30), p("c", 200), p("d", 64));
        CoalescedLayout l = CoalescedLayout.of(order, 250L, x -> false, 428, FILE, "gbuf_idx 0");
        assertThat(l.buckets()).extracting(BucketLayout::numel).containsExactly(264L, 164L);
        assertThat(l.bucketStarts()).containsExactly(0L, 264L);
        assertThat(starts(l)).containsExactly(Map.entry("d", 0L), Map.entry("c", 64L), Map.entry("b", 264L), Map.entry("a", 328L));
        // Without a bucket size the same parameters make one bucket: d 0, c 64, b 320 (264 aligned), a 384.
        CoalescedLayout one = CoalescedLayout.of(order, null, x -> false, 484, FILE, "gbuf_idx 0");
        assertThat(starts(one)).containsExactly(Map.entry("d", 0L), Map.entry("c", 64L), Map.entry("b", 320L), Map.entry("a", 384L));
    }

    @Test
    void aSharedEmbeddingGetsItsOwnBucketAndThePreviousOneKeepsItsAlignmentGap() {
        // Reverse order y [0,10), x at 64 → 94; emb would start at 128: bucket 0 closes there (128 unpadded, the gap
        // 94..128 included), emb fills bucket 1 alone (100).
        List<BucketLayout.Param> order = List.of(p("emb", 100), p("x", 30), p("y", 10));
        CoalescedLayout l = CoalescedLayout.of(order, null, x -> x.key().equals("emb"), 228, FILE, "gbuf_idx 0");
        assertThat(l.buckets()).extracting(BucketLayout::numel).containsExactly(128L, 100L);
        assertThat(starts(l)).containsExactly(Map.entry("y", 0L), Map.entry("x", 64L), Map.entry("emb", 128L));
    }

    @Test
    void aSizeThatDoesNotAddUpIsOneLineNamingTheFile() {
        List<BucketLayout.Param> order = List.of(p("a", 100), p("b", 30));
        assertThatThrownBy(() -> CoalescedLayout.of(order, null, x -> false, 200, FILE, "gbuf_idx 0"))
                .isInstanceOf(FormatException.class).hasMessageContaining("distrib_optim.pt")
                .hasMessageContaining("gbuf_idx 0: holds 200 elements").hasMessageContaining("need 164")
                .hasMessageNotContaining("\n");
    }

    @Test
    void bucketSizeFollowsMegatronsTrainingLoop() {
        assertThat(LegacyOptimizerIndexer.bucketSize(args(Map.of()), 0, 0, 1000)).isNull();
        assertThat(LegacyOptimizerIndexer.bucketSize(args(Map.of("overlap_grad_reduce", true, "data_parallel_size", 4L)), 0, 0, 1000))
                .isEqualTo(40_000_000L);
        assertThat(LegacyOptimizerIndexer.bucketSize(args(Map.of("overlap_grad_reduce", true, "data_parallel_size", 32L,
                "context_parallel_size", 2L)), 0, 0, 1000)).isEqualTo(64_000_000L);
        assertThat(LegacyOptimizerIndexer.bucketSize(args(Map.of("overlap_grad_reduce", true, "ddp_bucket_size", 1000L)), 0, 0, 1))
                .isEqualTo(1000L);
        assertThat(LegacyOptimizerIndexer.bucketSize(args(Map.of("overlap_grad_reduce", true, "ddp_num_buckets", 4L)), 0, 0, 1000))
                .isEqualTo(250L);
        // No bucketing on later pipeline stages, later model chunks, or with the param gather overlapped with the step.
        MegatronArgs on = args(Map.of("overlap_grad_reduce", true, "ddp_bucket_size", 1000L));
        assertThat(LegacyOptimizerIndexer.bucketSize(on, 1, 0, 1)).isNull();
        assertThat(LegacyOptimizerIndexer.bucketSize(on, 0, 1, 1)).isNull();
        assertThat(LegacyOptimizerIndexer.bucketSize(args(Map.of("overlap_grad_reduce", true,
                "overlap_param_gather_with_optimizer_step", true)), 0, 0, 1)).isNull();
    }

    private static MegatronArgs args(Map<String, Object> values) {
        PyDict d = new PyDict();
        values.forEach(d::put);
        return new MegatronArgs(d);
    }
}
