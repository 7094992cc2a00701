package ckpt.convert.reshard;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.index.GlobalTensor;
import ckpt.format.FormatException;
import ckpt.format.dcp.DcpCheckpoint;
import ckpt.format.megatron.KeyCategory;
import ckpt.format.megatron.MegatronCheckpoint;
import ckpt.format.megatron.Plain;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyTuple;
import ckpt.format.tensor.DType;
import ckpt.format.testing.Fixtures;
import ckpt.format.torchsave.TorchSaveWriter;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The legacy fixture (megatron-llama-tp2-legacy-torch: TP=2, distributed optimizer, --ckpt-format torch) against its
 * torch_dist twin (megatron-llama-tp2: same command, seed and data; its README and the legacy reference's
 * compare_with_megatron-llama-tp2.json record that every TP shard and every distrib_optim.pt buffer equals the twin's
 * bit for bit). Model tensors must equal the twin's (and PyTorch's sha256 of them). Each per-parameter optimizer
 * tensor must equal the twin's dp_reshardable bucket tensors read through the DCP reader and cut with offsets worked
 * out by hand below — not with {@link CoalescedLayout} or {@code LegacyMerge}, which are what is under test.
 */
class LegacyOptimizerIndexerTest {
    private static final String LEGACY = "megatron-llama-tp2-legacy-torch", TWIN = "megatron-llama-tp2", ITER = "iter_0000004";
    private static final String BUCKET = "optimizer.distributed.dp_group_idx_%d.gbuf_idx_0.dtype_(torch.bfloat16, torch.float32).bucket_idx_0.%s";
    private static final List<String> STATES = List.of("param", "exp_avg", "exp_avg_sq");
    private static final int TP = 2, LAYERS = 4;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * The bucket of every TP rank, by hand: 64 = hidden, 512 = padded vocab / TP, 48 = QKV rows / TP
     * ((8 + 2·2 heads·groups) · 8 / 2), 96 = ffn / TP, 192 = 2 · 96 (SwiGLU). Parameters sit in reverse registration
     * order and every size here is a multiple of 64, so no alignment gaps: output_layer [512,64] at 0,
     * final_layernorm [64] at 32768, then layers 3, 2, 1, 0 of 23680 elements each from 32832, then the embedding at
     * 127552; 127552 + 32768 = 160320, the bucket size both files hold.
     */
    private record Local(String key, long start, long[] shape, char split) { // split: C column, R row, G GLU, - replicated
    }

    private static final Map<String, Local> LOCAL = new LinkedHashMap<>();
    private static final long LAYER_BASE = 32832, LAYER_SPAN = 23680;

    static {
        put("output_layer.weight", 0, 'C', 512, 64);
        put("decoder.final_layernorm.weight", 32768, '-', 64);
        put("decoder.layers.mlp.linear_fc2.weight", 0, 'R', 64, 96);                    // relative to the layer
        put("decoder.layers.mlp.linear_fc1.weight", 6144, 'G', 192, 64);
        put("decoder.layers.mlp.linear_fc1.layer_norm_weight", 18432, '-', 64);
        put("decoder.layers.self_attention.linear_qkv.weight", 18496, 'C', 48, 64);
        put("decoder.layers.self_attention.linear_proj.weight", 21568, 'R', 64, 32);
        put("decoder.layers.self_attention.linear_qkv.layer_norm_weight", 23616, '-', 64);
        put("embedding.word_embeddings.weight", 127552, 'C', 512, 64);
    }

    private static void put(String key, long start, char split, long... shape) {
        LOCAL.put(key, new Local(key, start, shape, split));
    }

    private static long startOf(Local l, int layer) {
        return l.key().startsWith("decoder.layers.") ? LAYER_BASE + (LAYERS - 1 - layer) * LAYER_SPAN + l.start() : l.start();
    }

    @Test
    void modelTensorsEqualTheTorchDistTwin() {
        JsonNode ref = Fixtures.json(TWIN, "reference", ITER, "tensors.json");
        try (ReshardSource src = LegacyOptimizerIndexer.open(Fixtures.path(LEGACY, "checkpoint", ITER), true);
             CheckpointIndex twin = Checkpoints.open(Fixtures.path(TWIN, "checkpoint", ITER)); Arena arena = Arena.ofConfined()) {
            List<GlobalTensor> twinModel = twin.tensors().stream().filter(t -> t.category() == KeyCategory.MODEL_WEIGHT).toList();
            assertThat(keys(src.modelTensors())).isEqualTo(keys(twinModel)).hasSize(3 + 6);
            for (GlobalTensor expected : twinModel) {
                GlobalTensor actual = src.model().tensor(expected.key()).orElseThrow();
                assertThat(actual.dtype()).isEqualTo(expected.dtype());
                assertThat(actual.shape()).as(expected.key()).isEqualTo(expected.shape());
                assertThat(sha(actual, arena)).as(expected.key()).isEqualTo(ref.get(expected.key()).get("sha256").asText())
                        .isEqualTo(sha(expected, arena));
            }
        }
    }

    @Test
    void optimizerTensorsEqualTheTwinsBucketsCutByHand() {
        JsonNode ref = Fixtures.json(TWIN, "reference", ITER, "tensors.json");
        JsonNode legacyRef = Fixtures.json(LEGACY, "reference", ITER, "files.json");
        try (ReshardSource src = LegacyOptimizerIndexer.open(Fixtures.path(LEGACY, "checkpoint", ITER), true);
             CheckpointIndex twin = Checkpoints.open(Fixtures.path(TWIN, "checkpoint", ITER)); Arena arena = Arena.ofConfined()) {
            assertThat(src.optimizerState()).hasSize(STATES.size() * LOCAL.size());
            for (String state : STATES) {
                MemorySegment[] buckets = new MemorySegment[TP];
                for (int m = 0; m < TP; m++) {
                    GlobalTensor b = twin.tensor(BUCKET.formatted(m, state)).orElseThrow();
                    assertThat(b.numel()).isEqualTo(160320);
                    buckets[m] = arena.allocate(b.byteSize());
                    TensorAssembler.assemble(b, buckets[m]);
                    String sha = Fixtures.sha256(buckets[m]);
                    assertThat(sha).isEqualTo(ref.get(b.key()).get("sha256").asText()).isEqualTo(legacyRef
                            .get("mp_rank_0" + m + "/distrib_optim.pt").get("tensors").get("0/(torch.bfloat16, torch.float32)/" + state)
                            .get("sha256").asText());
                }
                for (Local l : LOCAL.values()) {
                    GlobalTensor model = twin.tensor(l.key()).orElseThrow();
                    GlobalTensor opt = src.optimizerState().stream().filter(t -> t.key().equals("optimizer.state." + state + "." + l.key()))
                            .findFirst().orElseThrow();
                    assertThat(opt.dtype()).isEqualTo(DType.FLOAT32);
                    assertThat(opt.shape()).as(opt.key()).isEqualTo(model.shape());
                    assertThat(opt.category()).isEqualTo(switch (state) {
                        case "param" -> KeyCategory.OPTIMIZER_MASTER;
                        case "exp_avg" -> KeyCategory.OPTIMIZER_EXP_AVG;
                        default -> KeyCategory.OPTIMIZER_EXP_AVG_SQ;
                    });
                    MemorySegment actual = arena.allocate(opt.byteSize());
                    TensorAssembler.assemble(opt, actual);
                    MemorySegment expected = expected(l, model.shape(), buckets, arena);
                    assertThat(actual.mismatch(expected)).as(opt.key()).isEqualTo(-1L);
                }
            }
        }
    }

    /** The global fp32 tensor of {@code l}, filled element by element from the TP ranks' buckets at the hand offsets. */
    private static MemorySegment expected(Local l, long[] global, MemorySegment[] buckets, Arena arena) {
        boolean stacked = l.key().startsWith("decoder.layers.");
        long perLayer = 1;
        for (int i = stacked ? 1 : 0; i < global.length; i++) perLayer *= global[i];
        MemorySegment out = arena.allocate(perLayer * (stacked ? LAYERS : 1) * 4);
        long rows = l.shape().length == 2 ? l.shape()[0] : 1, cols = l.shape()[l.shape().length - 1];
        long globalCols = l.split() == 'R' ? cols * TP : cols;
        for (int layer = 0; layer < (stacked ? LAYERS : 1); layer++)
            for (int m = 0; m < (l.split() == '-' ? 1 : TP); m++) {
                long from = startOf(l, layer);
                for (long r = 0; r < rows; r++)
                    for (long c = 0; c < cols; c++) {
                        long gr = switch (l.split()) {
                            case 'C' -> m * rows + r;
                            case 'G' -> r < rows / 2 ? m * rows / 2 + r : TP * rows / 2 + m * rows / 2 + (r - rows / 2);
                            default -> r;
                        };
                        long gc = l.split() == 'R' ? m * cols + c : c;
                        float v = buckets[m].getAtIndex(F32, from + r * cols + c);
                        out.setAtIndex(F32, layer * perLayer + gr * globalCols + gc, v);
                    }
            }
        return out;
    }

    @Test
    void mainParamsRoundToTheSavedBf16Weights() {
        try (ReshardSource src = LegacyOptimizerIndexer.open(Fixtures.path(LEGACY, "checkpoint", ITER), true); Arena arena = Arena.ofConfined()) {
            for (GlobalTensor w : src.modelTensors()) {
                GlobalTensor p = src.optimizerState().stream().filter(t -> t.key().equals("optimizer.state.param." + w.key())).findFirst().orElseThrow();
                MemorySegment weights = arena.allocate(w.byteSize()), main = arena.allocate(p.byteSize());
                TensorAssembler.assemble(w, weights);
                TensorAssembler.assemble(p, main);
                for (long i = 0; i < w.numel(); i++)
                    assertThat(weights.getAtIndex(I16, i)).as("%s element %d", w.key(), i).isEqualTo(TpShards.bf16(main.getAtIndex(F32, i)));
            }
        }
    }

    @Test
    void aSaveDirOpenedByCheckpointsGivesTheSameSourceAndOtherFormatsAreNotTaken() {
        try (ReshardSource a = LegacyOptimizerIndexer.of(Checkpoints.open(Fixtures.path(LEGACY, "checkpoint")), true);
             ReshardSource b = LegacyOptimizerIndexer.open(Fixtures.path(LEGACY, "checkpoint", ITER), true)) {
            assertThat(a.optimizerState()).extracting(GlobalTensor::toString)
                    .containsExactlyElementsOf(b.optimizerState().stream().map(GlobalTensor::toString).toList());
        }
        CheckpointIndex twin = Checkpoints.open(Fixtures.path(TWIN, "checkpoint", ITER));
        assertThatThrownBy(() -> LegacyOptimizerIndexer.of(twin, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a legacy torch-format checkpoint");
    }

    @Test
    void commonStateCarriesStepSchedulerAndIteration() {
        try (ReshardSource src = LegacyOptimizerIndexer.open(Fixtures.path(LEGACY, "checkpoint", ITER), true)) {
            Map<String, Object> c = src.optimizerCommon();
            assertThat(c.get("iteration")).isEqualTo(4L);
            assertThat(c.get("checkpoint_version")).isEqualTo(3.0);
            PyDict inner = (PyDict) ((PyDict) c.get("optimizer")).get("optimizer");
            List<?> groups = (List<?>) inner.get("param_groups");
            assertThat(groups).hasSize(2);
            for (Object g : groups) {
                assertThat(((PyDict) g).get("step")).isEqualTo(4.0);
                assertThat(((PyDict) g).get("betas")).isEqualTo(PyTuple.of(0.9, 0.95));
            }
            assertThat(((PyDict) c.get("opt_param_scheduler")).get("num_steps")).isEqualTo(16L);
            assertThat(c).containsKeys("args", "num_floating_point_operations_so_far");
        }
    }

    /**
     * The inner dict of the legacy {@code optimizer} entry ({@code {"optimizer": {"param_groups": […]}}}) is what the
     * torch_dist twin stores per model-parallel group as the ShardedObject
     * {@code optimizer.distributed.dp_group_idx_<m>.optimizer} (in a one-element list), step included: a writer can
     * carry it over as it is.
     */
    @Test
    void optimizerEntryEqualsTheTwinsPerGroupOptimizerObject() {
        try (ReshardSource src = LegacyOptimizerIndexer.open(Fixtures.path(LEGACY, "checkpoint", ITER), true);
             CheckpointIndex twin = Checkpoints.open(Fixtures.path(TWIN, "checkpoint", ITER))) {
            DcpCheckpoint dcp = ((MegatronCheckpoint) twin.resources()).dcp();
            for (int m = 0; m < TP; m++) {
                Object saved = dcp.openObject("optimizer.distributed.dp_group_idx_" + m + ".optimizer/shard_0_1").root();
                assertThat(saved).isInstanceOf(List.class);
                assertThat(Plain.of(((List<?>) saved).getFirst())).isEqualTo(Plain.of(((PyDict) src.optimizerCommon().get("optimizer")).get("optimizer")));
            }
        }
    }

    @Test
    void aModelOnlyCheckpointIsRefusedUnlessTheOptimizerIsDropped(@TempDir Path tmp) throws Exception {
        Path dir = Fixtures.copyTree(Fixtures.path(LEGACY, "checkpoint", ITER), tmp.resolve(ITER));
        for (int m = 0; m < TP; m++) Files.delete(dir.resolve("mp_rank_0" + m).resolve("distrib_optim.pt"));
        assertThatThrownBy(() -> LegacyOptimizerIndexer.open(dir, true)).isInstanceOf(FormatException.class)
                .hasMessageContaining("mp_rank_00" + java.io.File.separator + "distrib_optim.pt").hasMessageContaining("--optimizer drop");
        try (ReshardSource src = LegacyOptimizerIndexer.open(dir, false)) {
            assertThat(src.optimizerState()).isEmpty();
            assertThat(src.modelTensors()).hasSize(9);
            assertThat(src.optimizerCommon().get("iteration")).isEqualTo(4L);
        }
    }

    @Test
    void aBufferOfAnotherSizeIsRefusedNamingTheFile(@TempDir Path tmp) throws Exception {
        long n = 160320 - 64; // as if a 64-element parameter were missing
        Path dir = withRank1DistribOptim(tmp, distribOptim(n, DType.BFLOAT16, DType.FLOAT32, DType.FLOAT32));
        Path file = dir.resolve("mp_rank_01").resolve("distrib_optim.pt");
        assertThatThrownBy(() -> LegacyOptimizerIndexer.open(dir, true)).isInstanceOf(FormatException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("holds 160256 elements")
                .hasMessageContaining("need 160320").hasMessageContaining("cannot map the optimizer state back to parameters")
                .hasMessageNotContaining("\n");
        try (ReshardSource src = LegacyOptimizerIndexer.open(dir, false)) {
            assertThat(src.modelTensors()).hasSize(9);
        }
    }

    /** Other shapes of distrib_optim.pt ckpt does not map: each one line naming the file and what is wrong. */
    @Test
    void otherDistribOptimShapesAreRefusedNamingTheFile(@TempDir Path tmp) throws Exception {
        long n = 160320;
        Map<Object, Object> wrongPair = distribOptim(n, DType.FLOAT32, DType.FLOAT32, DType.FLOAT32);
        Map<Object, Object> bf16State = distribOptim(n, DType.BFLOAT16, DType.FLOAT32, DType.BFLOAT16);
        Map<Object, Object> extraBuffer = distribOptim(n, DType.BFLOAT16, DType.FLOAT32, DType.FLOAT32);
        extraBuffer.put(1L, extraBuffer.get(0L));
        Map<Object, Object> uncoalesced = distribOptim(n, DType.BFLOAT16, DType.FLOAT32, DType.FLOAT32);
        uncoalesced.remove("buckets_coalesced");
        Map<Object, String> cases = new LinkedHashMap<>();
        cases.put(wrongPair, "gbuf_idx 0 is for (torch.float32, torch.float32) but the model's parameters need a (torch.bfloat16, torch.float32) buffer");
        cases.put(bf16State, "param: expected a contiguous float32[160320]");
        cases.put(extraBuffer, "holds 2 gradient buffers but the model's parameters fill 1");
        cases.put(uncoalesced, "has no buckets_coalesced flag");
        cases.put(List.of(distribOptim(n, DType.BFLOAT16, DType.FLOAT32, DType.FLOAT32), distribOptim(8, DType.FLOAT32,
                DType.FLOAT32, DType.FLOAT32)), "holds the state of 2 chained optimizers");
        int i = 0;
        for (Map.Entry<Object, String> c : cases.entrySet()) {
            Path dir = withRank1DistribOptim(tmp.resolve("case" + i++), c.getKey());
            assertThatThrownBy(() -> LegacyOptimizerIndexer.open(dir, true)).as(c.getValue()).isInstanceOf(FormatException.class)
                    .hasMessageContaining(dir.resolve("mp_rank_01").resolve("distrib_optim.pt").toString())
                    .hasMessageContaining(c.getValue()).hasMessageNotContaining("\n");
        }
    }

    /** {@code {"buckets_coalesced": True, 0: {(param, grad): {param, exp_avg, exp_avg_sq: zeros[n], numel_unpadded: n}}}}. */
    private static Map<Object, Object> distribOptim(long n, DType param, DType grad, DType state) {
        Map<String, Object> states = new LinkedHashMap<>();
        for (String s : STATES)
            states.put(s, new TorchSaveWriter.SmallTensor(state, new long[]{n}, new byte[(int) (n * state.byteSize())]));
        states.put("numel_unpadded", n);
        Map<Object, Object> root = new LinkedHashMap<>();
        root.put("buckets_coalesced", true);
        root.put(0L, Map.of(PyTuple.of(param, grad), states));
        return root;
    }

    /** A copy of the legacy fixture whose mp_rank_01/distrib_optim.pt is {@code root}, torch.save'd. */
    private static Path withRank1DistribOptim(Path tmp, Object root) throws Exception {
        Path dir = Fixtures.copyTree(Fixtures.path(LEGACY, "checkpoint", ITER), tmp.resolve(ITER));
        Path file = dir.resolve("mp_rank_01").resolve("distrib_optim.pt");
        Files.delete(file);
        try (TorchSaveWriter w = TorchSaveWriter.create(file)) {
            w.writeStructure(root);
            w.finish();
        }
        return dir;
    }

    private static TreeSet<String> keys(List<GlobalTensor> ts) {
        return ts.stream().map(GlobalTensor::key).collect(Collectors.toCollection(TreeSet::new));
    }

    private static String sha(GlobalTensor t, Arena arena) {
        MemorySegment b = arena.allocate(t.byteSize());
        TensorAssembler.assemble(t, b);
        return Fixtures.sha256(b);
    }
}
