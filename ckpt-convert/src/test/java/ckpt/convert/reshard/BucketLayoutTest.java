package ckpt.convert.reshard;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.index.GlobalTensor;
import ckpt.format.FormatException;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The bucket layout rebuilt from Megatron's rules, checked on megatron-llama-tp2 (core 0.20, TP=2, DP=1,
 * dp_reshardable): the buckets are first proven equal to PyTorch's sha256 in reference/tensors.json, then every
 * parameter's fp32 main-param slice, rounded to bf16, must equal that rank's shard of the bf16 model weight — which
 * Megatron copies from the main params after each step, and whose global sha256 PyTorch also recorded. A wrong
 * order, alignment or size makes slices land on other parameters' values and fails.
 */
class BucketLayoutTest {
    private static final String FIXTURE = "megatron-llama-tp2";
    private static final String BUCKET = "optimizer.distributed.dp_group_idx_%d.gbuf_idx_0.dtype_(torch.bfloat16, torch.float32).bucket_idx_0.%s";
    private static final int TP = 2, LAYERS = 4;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The registration order {@link RegistrationOrder} rebuilds from the checkpoint's keys (local spec, as saved). */
    private static List<BucketLayout.Param> order(CheckpointIndex idx) {
        java.util.Map<String, GlobalTensor> model = new java.util.LinkedHashMap<>();
        for (GlobalTensor t : idx.tensors()) if (t.category() == ckpt.format.megatron.KeyCategory.MODEL_WEIGHT) model.put(t.key(), t);
        assertThat(idx.args().get("transformer_impl")).isEqualTo("local");
        return RegistrationOrder.of(Path.of(FIXTURE), model, LAYERS, true, false, "local", TP, 1, 0).stream()
                .map(RegistrationOrder.Entry::param).toList();
    }

    @Test
    void mainParamSlicesAreTheModelWeightsOfEveryTpRank() throws Exception {
        JsonNode ref = Fixtures.json(FIXTURE, "reference", "iter_0000004", "tensors.json");
        try (CheckpointIndex idx = Checkpoints.open(Fixtures.path(FIXTURE, "checkpoint", "iter_0000004")); Arena arena = Arena.ofConfined()) {
            List<BucketLayout.Param> order = order(idx);
            int checked = 0;
            for (int m = 0; m < TP; m++) {
                GlobalTensor bucket = idx.tensor(BUCKET.formatted(m, "param")).orElseThrow();
                MemorySegment b = arena.allocate(bucket.byteSize());
                TensorAssembler.assemble(bucket, b);
                assertThat(Fixtures.sha256(b)).isEqualTo(ref.get(bucket.key()).get("sha256").asText());
                BucketLayout layout = BucketLayout.of(order, bucket.numel(), Path.of(FIXTURE), bucket.key());
                for (BucketLayout.Slot s : layout.slots()) {
                    MemorySegment local = TpShards.local(idx.tensor(s.param().key()).orElseThrow(), s.param().key(), s.param().layer(), m, TP, arena);
                    for (long i = 0; i < s.param().localNumel(); i++) {
                        float f = b.getAtIndex(F32, s.start() + i);
                        assertThat(local.getAtIndex(I16, i)).as("%s layer %d rank %d element %d", s.param().key(), s.param().layer(), m, i)
                                .isEqualTo(TpShards.bf16(f));
                    }
                    checked++;
                }
            }
            assertThat(checked).isEqualTo(TP * (3 + 6 * LAYERS));
        }
    }

    @Test
    void aBucketOfAnotherSizeIsRefused() throws Exception {
        try (CheckpointIndex idx = Checkpoints.open(Fixtures.path(FIXTURE, "checkpoint", "iter_0000004"))) {
            List<BucketLayout.Param> order = order(idx);
            long numel = idx.tensor(BUCKET.formatted(0, "param")).orElseThrow().numel();
            assertThatThrownBy(() -> BucketLayout.of(order.subList(1, order.size()), numel, Path.of(FIXTURE), "bucket 0"))
                    .isInstanceOf(FormatException.class).hasMessageContaining("cannot map the bucket back to parameters");
        }
    }

    /**
     * Several buckets (--ddp-bucket-size): walking the reversed order, each bucket ends exactly after a parameter and
     * restarts its 64-element alignment; a boundary inside a parameter, or parameters left over, are refused.
     */
    @Test
    void bucketsEndOnParameters() {
        List<BucketLayout.Param> order = List.of(new BucketLayout.Param("a", -1, 100), new BucketLayout.Param("b", 0, 50),
                new BucketLayout.Param("c", 1, 64), new BucketLayout.Param("d", -1, 30));
        // reversed: d [0,30) c [64,128) | b [0,50) a [64,164)
        List<BucketLayout> buckets = BucketLayout.across(order, List.of(128L, 164L), Path.of("x"), "rank 0");
        assertThat(buckets).hasSize(2);
        assertThat(buckets.get(0).slots()).extracting(s -> s.param().key() + "@" + s.start()).containsExactly("d@0", "c@64");
        assertThat(buckets.get(1).slots()).extracting(s -> s.param().key() + "@" + s.start()).containsExactly("b@0", "a@64");
        assertThatThrownBy(() -> BucketLayout.across(order, List.of(100L, 164L), Path.of("x"), "rank 0"))
                .isInstanceOf(FormatException.class).hasMessageContaining("bucket 0").hasMessageContaining("cross its end at 128");
        assertThatThrownBy(() -> BucketLayout.across(order, List.of(128L), Path.of("x"), "rank 0"))
                .isInstanceOf(FormatException.class).hasMessageContaining("2 parameters (b …) lie in no saved bucket");
        assertThat(BucketLayout.across(order, List.of(292L), Path.of("x"), "rank 0").getFirst().slots()).hasSize(4);
    }
}
