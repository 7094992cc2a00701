package ckpt.convert.reshard;

import ckpt.convert.analysis.Verifier;
import ckpt.convert.analysis.VerifyProgress;
import ckpt.convert.analysis.VerifyReport;
import ckpt.convert.assembly.TensorAssembler;
import ckpt.convert.exec.ConversionListener;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.index.GlobalTensor;
import ckpt.format.FormatException;
import ckpt.format.megatron.MegatronCheckpoint;
import ckpt.format.pickle.PyDict;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code ckpt reshard} of megatron-llama-tp2 (core 0.20, TP=2, dp_reshardable): every per-parameter optimizer tensor of
 * the output, cut back into each source TP rank's local tensor, equals bit for bit the parameter's range of that
 * rank's bucket — the buckets proven equal to PyTorch's sha256 first, the ranges computed here from Megatron's rules
 * (reverse registration order, 64-element aligned starts) independently of the main code; the fp32 params round to
 * the saved bf16 weights; model tensors equal PyTorch's sha256; the output reads back and passes {@code verify --deep}.
 */
class ReshardTest {
    private static final String FIXTURE = "megatron-llama-tp2";
    private static final String BUCKET = "optimizer.distributed.dp_group_idx_%d.gbuf_idx_0.dtype_(torch.bfloat16, torch.float32).bucket_idx_0.%s";
    private static final int SRC_TP = 2, LAYERS = 4;
    private static final List<String> STATES = List.of("param", "exp_avg", "exp_avg_sq");
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final String[] LAYER_KEYS = {"self_attention.linear_qkv.layer_norm_weight", "self_attention.linear_proj.weight",
            "self_attention.linear_qkv.weight", "mlp.linear_fc1.layer_norm_weight", "mlp.linear_fc1.weight", "mlp.linear_fc2.weight"};

    @TempDir
    Path tmp;

    private static Path iteration(String it) {
        return Fixtures.path(FIXTURE, "checkpoint", it);
    }

    private ReshardResult reshard(Path src, Path out, Integer tp, Integer pp) throws Exception {
        return new Resharder().reshard(ReshardOptions.of(src, out).withLayout(tp, pp), ConversionListener.NONE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"iter_0000004", "iter_0000002"})
    void optimizerStateIsTheBucketRangesBitForBit(String it) throws Exception {
        Path out = tmp.resolve("tp1");
        ReshardResult r = reshard(iteration(it), out, 1, 1);
        assertThat(r.optimizer()).isEqualTo("fully_reshardable");
        assertThat(r.sourceOptimizer()).isEqualTo("dp_reshardable");
        assertThat(r.optimizerTensors()).isEqualTo(3 * 9);
        assertThat(Files.readString(out.resolve("latest_checkpointed_iteration.txt"))).isEqualTo(String.valueOf(Long.parseLong(it.substring(5))));
        JsonNode ref = Fixtures.json(FIXTURE, "reference", it, "tensors.json");
        try (CheckpointIndex src = Checkpoints.open(iteration(it)); CheckpointIndex res = Checkpoints.open(out);
             Arena arena = Arena.ofConfined()) {
            assertThat(res.path().getFileName().toString()).isEqualTo(it);
            int checked = 0;
            for (int m = 0; m < SRC_TP; m++) {
                for (String state : STATES) {
                    GlobalTensor bucket = src.tensor(BUCKET.formatted(m, state)).orElseThrow();
                    MemorySegment b = arena.allocate(bucket.byteSize());
                    TensorAssembler.assemble(bucket, b);
                    assertThat(Fixtures.sha256(b)).isEqualTo(ref.get(bucket.key()).get("sha256").asText());
                    for (Slot s : slots(src)) {
                        if (TpShards.replicated(s.key) && m > 0) continue;
                        GlobalTensor t = res.tensor("optimizer.state." + state + "." + s.key).orElseThrow();
                        assertThat(t.dtype().torchName()).isEqualTo("float32");
                        assertThat(t.shape()).isEqualTo(src.tensor(s.key).orElseThrow().shape());
                        MemorySegment local = TpShards.local(t, s.key, s.layer, m, SRC_TP, arena);
                        MemorySegment expected = b.asSlice(s.start * 4, s.numel * 4);
                        assertThat(MemorySegment.mismatch(local, 0, local.byteSize(), expected, 0, expected.byteSize()))
                                .as("%s %s layer %d rank %d", state, s.key, s.layer, m).isEqualTo(-1L);
                        checked++;
                    }
                }
            }
            assertThat(checked).isEqualTo(3 * (SRC_TP * 4 * 6 + SRC_TP * 2 + 1 - (SRC_TP - 1) * 4 * 2));
            // fp32 main params round to the saved bf16 weights (Megatron copies them after each step)
            for (GlobalTensor w : src.tensors()) {
                if (!w.key().startsWith("embedding.") && !w.key().startsWith("decoder.") && !w.key().startsWith("output_layer.")) continue;
                GlobalTensor p = res.tensor("optimizer.state.param." + w.key()).orElseThrow();
                MemorySegment pw = arena.allocate(p.byteSize());
                TensorAssembler.assemble(p, pw);
                MemorySegment ow = arena.allocate(w.byteSize());
                TensorAssembler.assemble(res.tensor(w.key()).orElseThrow(), ow);
                assertThat(Fixtures.sha256(ow)).as(w.key()).isEqualTo(ref.get(w.key()).get("sha256").asText());
                for (long i = 0; i < w.numel(); i++)
                    if (ow.getAtIndex(I16, i) != TpShards.bf16(pw.getAtIndex(F32, i)))
                        throw new AssertionError(w.key() + " element " + i + ": fp32 param does not round to the bf16 weight");
            }
        }
        VerifyReport v = new Verifier(true, VerifyProgress.NONE).verify(out);
        assertThat(v.problems()).isEmpty();
        assertThat(v.sound()).isTrue();
    }

    @Test
    void commonStateIsWhatFullyReshardableSavesHold() throws Exception {
        Path out = tmp.resolve("tp1");
        reshard(iteration("iter_0000004"), out, 1, null);
        try (MegatronCheckpoint src = MegatronCheckpoint.open(iteration("iter_0000004"));
             MegatronCheckpoint mc = MegatronCheckpoint.open(out.resolve("iter_0000004"))) {
            PyDict c = mc.common();
            assertThat(c.get("iteration")).isEqualTo(4L);
            assertThat(mc.optimizerFormat()).isEqualTo("fully_reshardable");
            PyDict cm = (PyDict) c.get("content_metadata");
            assertThat(cm.get("distrib_optim_sharding_type")).isEqualTo("fully_reshardable");
            assertThat(cm.get("distrib_optim_fully_reshardable_mem_efficient")).isEqualTo(false);
            PyDict opt = (PyDict) c.get("optimizer");
            assertThat(opt.get("param_state_sharding_type")).isEqualTo("fully_reshardable");
            Object groups = ((List<?>) src.dcp().readObject("optimizer.distributed.dp_group_idx_0.optimizer/shard_0_1")).getFirst();
            assertThat(String.valueOf(opt.get("optimizer"))).isEqualTo(String.valueOf(groups));
            assertThat(String.valueOf(c.get("opt_param_scheduler"))).isEqualTo(String.valueOf(src.common().get("opt_param_scheduler")));
            assertThat(String.valueOf(c.get("args"))).isEqualTo(String.valueOf(src.common().get("args")));
            assertThat(mc.dcp().metadata().bytesItems()).noneMatch(k -> k.startsWith("optimizer.distributed."))
                    .contains("rng_state/shard_0.0_1.2", "rng_state/shard_0.1_1.2", "decoder.layers.mlp.linear_fc2._extra_state/shard_3_4");
            assertThat(mc.dcp().metadata().tensors().keySet()).noneMatch(k -> k.startsWith("optimizer.distributed."));
            // the verbatim copies are byte-identical to the source's
            var a = src.dcp().itemBytes("rng_state/shard_0.1_1.2", src.dcp().metadata().storageOf("rng_state/shard_0.1_1.2"));
            var b = mc.dcp().itemBytes("rng_state/shard_0.1_1.2", mc.dcp().metadata().storageOf("rng_state/shard_0.1_1.2"));
            assertThat(MemorySegment.mismatch(a, 0, a.byteSize(), b, 0, b.byteSize())).isEqualTo(-1L);
        }
        assertThat(Files.readAllBytes(out.resolve("iter_0000004/metadata.json")))
                .isEqualTo(Files.readAllBytes(iteration("iter_0000004").resolve("metadata.json")));
    }

    /** Every layout's output holds the same global tensors (model and optimizer), chunked per target rank. */
    @Test
    void otherLayoutsRoundTrip() throws Exception {
        Path tp1 = tmp.resolve("tp1");
        reshard(iteration("iter_0000004"), tp1, 1, 1);
        Map<String, String> want = globalSha(tp1);
        assertThat(want).hasSize(9 + 27);
        for (int[] l : new int[][]{{2, 2}, {1, 4}}) {
            Path out = tmp.resolve("tp" + l[0] + "pp" + l[1]);
            ReshardResult r = reshard(tp1.resolve("iter_0000004"), out, l[0], l[1]); // a fully_reshardable source: re-chunked
            assertThat(r.target()).isEqualTo(new ReshardInput.Layout(l[0], l[1]));
            assertThat(globalSha(out)).as("TP %d PP %d", l[0], l[1]).isEqualTo(want);
            try (MegatronCheckpoint mc = MegatronCheckpoint.open(out.resolve("iter_0000004"))) {
                try (var files = Files.list(out.resolve("iter_0000004"))) {
                    assertThat(files.filter(f -> f.toString().endsWith(".distcp")).count()).isEqualTo(l[0] * l[1]);
                }
                // each rank's file holds its chunks: layer 3's linear_proj on the last stage, TP rank 1's half on rank 1
                var chunks = mc.dcp().metadata().tensors().get("optimizer.state.exp_avg.decoder.layers.self_attention.linear_proj.weight").chunks();
                assertThat(chunks).hasSize(LAYERS * l[0]);
            }
        }
        // and back to the source's own layout from the dp_reshardable source
        Path tp2 = tmp.resolve("tp2");
        reshard(iteration("iter_0000004"), tp2, null, null);
        assertThat(globalSha(tp2)).isEqualTo(want);
    }

    @Test
    void modelOnlySourcesAndDroppedOptimizer() throws Exception {
        Path q = tmp.resolve("qwen3");
        ReshardResult r = new Resharder().reshard(ReshardOptions.of(Fixtures.path("megatron-qwen3-tp2", "checkpoint"), q)
                .withLayout(1, null), ConversionListener.NONE);
        assertThat(r.optimizer()).isNull();
        JsonNode ref = Fixtures.json("megatron-qwen3-tp2", "reference", "iter_0000004", "tensors.json");
        Map<String, String> got = globalSha(q);
        for (String k : Fixtures.fieldNames(ref)) assertThat(got.get(k)).as(k).isEqualTo(ref.get(k).get("sha256").asText());

        Path d = tmp.resolve("drop");
        r = new Resharder().reshard(ReshardOptions.of(iteration("iter_0000004"), d).withOptimizer(OptimizerChoice.DROP), ConversionListener.NONE);
        assertThat(r.optimizerTensors()).isZero();
        try (MegatronCheckpoint mc = MegatronCheckpoint.open(d.resolve("iter_0000004"))) {
            assertThat(mc.args().getBool("no_save_optim", false)).isTrue();
            assertThat(mc.common().containsKey("optimizer")).isFalse();
            assertThat(mc.dcp().metadata().tensors().keySet()).allMatch(k -> !k.startsWith("optimizer."));
        }
    }

    @Test
    void refusals() throws Exception {
        Path src = iteration("iter_0000004");
        assertThatThrownBy(() -> reshard(src, tmp.resolve("a"), 4, 1)).isInstanceOf(FormatException.class)
                .hasMessageContaining("query groups do not split evenly over --tp 4");
        assertThatThrownBy(() -> reshard(src, tmp.resolve("b"), 1, 3)).isInstanceOf(FormatException.class)
                .hasMessageContaining("do not split evenly into --pp 3");
        // core 0.14's fully_sharded_model_space optimizer state is refused unless dropped
        Path core014 = Fixtures.path("megatron-llama-tp2-core014", "checkpoint");
        assertThatThrownBy(() -> reshard(core014, tmp.resolve("c"), 1, 1)).isInstanceOf(FormatException.class)
                .hasMessageContaining("fully_sharded_model_space").hasMessageContaining("--optimizer drop");
        assertThat(tmp.resolve("c")).doesNotExist();
        ReshardResult r = new Resharder().reshard(ReshardOptions.of(core014, tmp.resolve("c")).withOptimizer(OptimizerChoice.DROP)
                .withLayout(1, 1), ConversionListener.NONE);
        assertThat(Files.exists(r.output().resolve("iter_0000004/common.pt"))).isTrue();
        // an existing output is refused without --force, replaced with it (ckpt wrote it)
        assertThatThrownBy(() -> reshard(src, tmp.resolve("c"), 1, 1)).hasMessageContaining("exists");
        new Resharder().reshard(ReshardOptions.of(src, tmp.resolve("c")).withForce(true), ConversionListener.NONE);
        // --iteration picks an iter dir of a save dir
        Path save = Fixtures.path(FIXTURE, "checkpoint");
        r = new Resharder().reshard(ReshardOptions.of(save, tmp.resolve("it2")).withIteration(2L), ConversionListener.NONE);
        assertThat(r.iteration()).isEqualTo("iter_0000002");
        assertThatThrownBy(() -> new Resharder().reshard(ReshardOptions.of(save, tmp.resolve("it3")).withIteration(3L), ConversionListener.NONE))
                .isInstanceOf(FormatException.class).hasMessageContaining("no such iteration");
    }

    /** A bucket whose values do not belong where the layout puts them (a damaged copy: two parameters swapped) is refused. */
    @Test
    void bucketsThatDoNotMatchTheModelAreRefused() throws Exception {
        Path copy = Fixtures.copyTree(iteration("iter_0000004"), tmp.resolve("src/iter_0000004"));
        // transformer_impl decides the order: claim Transformer Engine, whose order puts linear_proj before the input norm
        try (CheckpointIndex idx = Checkpoints.open(copy)) {
            var weights = new java.util.LinkedHashMap<String, GlobalTensor>();
            for (GlobalTensor t : idx.tensors()) if (t.category() == ckpt.format.megatron.KeyCategory.MODEL_WEIGHT) weights.put(t.key(), t);
            assertThatThrownBy(() -> DpReshardable.perParameter(copy, weights, idx.tensors(), LAYERS, true, false, "transformer_engine", 2, 1))
                    .isInstanceOf(FormatException.class).hasMessageContaining("does not round to the saved weight");
            assertThatThrownBy(() -> DpReshardable.perParameter(copy, weights, idx.tensors(), LAYERS, true, false, "local", 1, 2))
                    .isInstanceOf(FormatException.class).hasMessageContaining("cannot map the buckets back to parameters");
        }
    }

    static Map<String, String> globalSha(Path dir) {
        Map<String, String> out = new java.util.TreeMap<>();
        try (CheckpointIndex idx = Checkpoints.open(dir); Arena arena = Arena.ofConfined()) {
            for (GlobalTensor t : idx.tensors()) {
                MemorySegment s = arena.allocate(t.byteSize());
                TensorAssembler.assemble(t, s);
                out.put(t.key(), Fixtures.sha256(s));
            }
        }
        return out;
    }

    private record Slot(String key, int layer, long start, long numel) {
    }

    /** The bucket slots by Megatron's rules, written out for this model (local spec, registration order, reversed, 64-aligned). */
    private static List<Slot> slots(CheckpointIndex idx) {
        List<String[]> order = new ArrayList<>();
        order.add(new String[]{"embedding.word_embeddings.weight", "-1"});
        for (int l = 0; l < LAYERS; l++) for (String k : LAYER_KEYS) order.add(new String[]{"decoder.layers." + k, String.valueOf(l)});
        order.add(new String[]{"decoder.final_layernorm.weight", "-1"});
        order.add(new String[]{"output_layer.weight", "-1"});
        List<Slot> out = new ArrayList<>();
        long at = 0;
        for (int i = order.size() - 1; i >= 0; i--) {
            String key = order.get(i)[0];
            int layer = Integer.parseInt(order.get(i)[1]);
            GlobalTensor t = idx.tensor(key).orElseThrow();
            long n = t.numel() / (layer >= 0 ? LAYERS : 1) / (TpShards.splitAxis(key) < 0 ? 1 : SRC_TP);
            long start = (at + 63) / 64 * 64;
            out.add(new Slot(key, layer, start, n));
            at = start + n;
        }
        assertThat(at).isEqualTo(idx.tensor(BUCKET.formatted(0, "param")).orElseThrow().numel());
        return out;
    }
}
