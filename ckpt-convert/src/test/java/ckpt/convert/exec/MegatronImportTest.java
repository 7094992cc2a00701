package ckpt.convert.exec;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.index.GlobalTensor;
import ckpt.convert.index.ObjectEntry;
import ckpt.convert.index.TensorPiece;
import ckpt.convert.mapping.imports.MegatronArgs.Parallel;
import ckpt.convert.plan.DtypeChoice;
import ckpt.format.FormatException;
import ckpt.format.tensor.DType;
import ckpt.format.megatron.KeyCategory;
import ckpt.format.tensor.Box;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code --format megatron}: HF dirs imported into Megatron {@code torch_dist} saves, read back with ckpt's own
 * readers. Real fixtures go Megatron → HF → Megatron and must come back bit-exact (PyTorch's sha256 of every global
 * tensor, padding rows aside), with the chunks of every rank where Megatron itself put them; synthetic models of
 * every family (values encode their position) round-trip through every inverse rule; a TP2×PP2×EP2 MoE layout puts
 * each chunk in the file of the rank that owns it.
 */
class MegatronImportTest {
    @TempDir
    Path tmp;

    private static ConvertResult convert(ConvertOptions o) throws IOException {
        return new Converter().convert(o, ConversionListener.NONE);
    }

    private static MemorySegment bytes(Arena arena, GlobalTensor t) {
        MemorySegment dst = arena.allocate(Math.max(1, t.byteSize())).asSlice(0, t.byteSize());
        TensorAssembler.assemble(t, dst);
        return dst;
    }

    private static boolean isModelWeight(GlobalTensor t) {
        return t.category() == KeyCategory.MODEL_WEIGHT && !t.key().contains("_extra_state");
    }

    /** Each chunk of a tensor and the rank file that holds it. */
    private static Map<String, Map<Box, String>> chunks(GlobalTensor t) {
        return Map.of(t.key(), t.pieces().stream().collect(Collectors.toMap(TensorPiece::box, p -> p.source().file())));
    }

    @ParameterizedTest
    @CsvSource({"megatron-llama-tp2, megatron-llama-tp2, true", "megatron-qwen3-tp2, megatron-qwen3-tp2, true",
            "megatron-llama-tp2-core014, megatron-llama-tp2-core014, false",
            // the legacy save's reference is its torch_dist twin of the same run (LegacyFixtureTest)
            "megatron-llama-tp2-legacy-torch, megatron-llama-tp2, false"})
    void megatronFixturesRoundTripThroughHuggingFaceBitExact(String fixture, String reference, boolean sameChunks) throws IOException {
        Path ckpt = Fixtures.path(fixture, "checkpoint");
        Path hf = tmp.resolve("hf"), mg = tmp.resolve("mg");
        convert(ConvertOptions.of(ckpt, OutputFormat.HUGGINGFACE, hf));
        ConvertResult r = convert(ConvertOptions.of(hf, OutputFormat.MEGATRON, mg).withParallel(new Parallel(2, 1, 1)));
        assertThat(r.megatronFlags()).contains("--tensor-model-parallel-size", "--num-layers");
        assertThat(Files.readString(mg.resolve("latest_checkpointed_iteration.txt"))).isEqualTo("release");
        assertThat(mg.resolve("release/__0_0.distcp")).exists();
        assertThat(mg.resolve("release/__1_0.distcp")).exists();
        assertThat(mg.resolve("release/__2_0.distcp")).doesNotExist();
        JsonNode ref = Fixtures.json(Fixtures.path(reference, "reference", "iter_0000004", "tensors.json"));
        try (CheckpointIndex orig = Checkpoints.open(ckpt); CheckpointIndex imp = Checkpoints.open(mg); Arena arena = Arena.ofConfined()) {
            Map<String, GlobalTensor> want = new TreeMap<>(), got = new TreeMap<>();
            orig.tensors().stream().filter(MegatronImportTest::isModelWeight).forEach(t -> want.put(t.key(), t));
            imp.tensors().stream().filter(MegatronImportTest::isModelWeight).forEach(t -> got.put(t.key(), t));
            assertThat(got.keySet()).isEqualTo(want.keySet());
            long vocab = ((Number) orig.args().get("vocab_size")).longValue();
            for (GlobalTensor w : want.values()) {
                GlobalTensor g = got.get(w.key());
                assertThat(g.dtype()).as(w.key()).isEqualTo(w.dtype());
                assertThat(g.shape()).as(w.key()).isEqualTo(Fixtures.longs(ref.get(w.key()).get("shape")));
                MemorySegment gb = bytes(arena, g);
                if (w.key().equals("embedding.word_embeddings.weight") || w.key().equals("output_layer.weight")) {
                    long rowBytes = w.byteSize() / w.dim(0);
                    assertThat(gb.asSlice(0, vocab * rowBytes).mismatch(bytes(arena, w).asSlice(0, vocab * rowBytes))).as(w.key()).isEqualTo(-1);
                    MemorySegment pad = gb.asSlice(vocab * rowBytes);
                    assertThat(pad.mismatch(arena.allocate(pad.byteSize()))).as(w.key() + " padding rows are zeros").isEqualTo(-1);
                } else {
                    assertThat(Fixtures.sha256(gb)).as(w.key() + " vs PyTorch's sha256").isEqualTo(ref.get(w.key()).get("sha256").asText());
                }
                if (sameChunks) assertThat(chunks(g)).as(w.key() + " chunks in the rank files where Megatron put them").isEqualTo(chunks(w));
            }
            if (sameChunks) {
                Set<String> extraWant = orig.objects().stream().map(ObjectEntry::key).filter(k -> k.contains("._extra_state/")).collect(Collectors.toCollection(TreeSet::new));
                Set<String> extraGot = imp.objects().stream().map(ObjectEntry::key).filter(k -> k.contains("._extra_state/")).collect(Collectors.toCollection(TreeSet::new));
                assertThat(extraGot).isNotEmpty().isEqualTo(extraWant);
            }
            for (String a : List.of("num_layers", "hidden_size", "ffn_hidden_size", "num_attention_heads", "num_query_groups",
                    "kv_channels", "padded_vocab_size", "vocab_size", "normalization", "swiglu", "position_embedding_type",
                    "untie_embeddings_and_output_weights", "add_bias_linear", "qk_layernorm", "tensor_model_parallel_size"))
                assertThat(imp.args().get(a)).as("args." + a).isEqualTo(orig.args().get(a));
            assertThat(imp.config().normEpsilon()).isEqualTo(orig.config().normEpsilon());
        }
    }

    /** The synthetic checkpoint of each family the inverse rules cover (names as in the parameterized tests). */
    private static SyntheticMegatron family(String family) {
        return switch (family) {
            case "llama" -> LlamaFamiliesSyntheticTest.llama(false);
            case "llama-tied" -> LlamaFamiliesSyntheticTest.llama(true);
            case "qwen2" -> LlamaFamiliesSyntheticTest.qwen2(false);
            case "qwen3" -> LlamaFamiliesSyntheticTest.qwen3();
            case "mixtral" -> LlamaFamiliesSyntheticTest.mixtral();
            case "gpt2" -> Gpt2ConvertTest.gpt2(true);
            default -> throw new IllegalArgumentException(family);
        };
    }

    /** Every family's inverse rules: synthetic Megatron → HF → Megatron gives every element back at its place. */
    @ParameterizedTest
    @CsvSource({"llama, 2, 1, 1", "llama-tied, 1, 2, 1", "qwen2, 2, 2, 1", "qwen3, 2, 1, 1", "mixtral, 1, 2, 2", "gpt2, 2, 1, 1"})
    void everyFamilyRoundTripsThroughEveryInverseRule(String family, int tp, int pp, int ep) throws IOException {
        SyntheticMegatron s = family(family);
        Path hf = tmp.resolve("hf"), mg = tmp.resolve("mg");
        try (CheckpointIndex index = s.index(tmp.resolve("ckpt"))) {
            new Converter().convert(index, ConvertOptions.of(index.path(), OutputFormat.HUGGINGFACE, hf), ConversionListener.NONE);
        }
        convert(ConvertOptions.of(hf, OutputFormat.MEGATRON, mg).withParallel(new Parallel(tp, pp, ep)));
        long vocab = ((Number) s.args.get("vocab_size")).longValue();
        boolean tied = !Boolean.TRUE.equals(s.args.get("untie_embeddings_and_output_weights"));
        try (CheckpointIndex imp = Checkpoints.open(mg); Arena arena = Arena.ofConfined()) {
            Map<String, GlobalTensor> got = new HashMap<>();
            imp.tensors().stream().filter(MegatronImportTest::isModelWeight).forEach(t -> got.put(t.key(), t));
            Set<String> expected = new TreeSet<>(s.shapes.keySet());
            if (tied) expected.remove("output_layer.weight");
            assertThat(new TreeSet<>(got.keySet())).isEqualTo(expected);
            assertThat(imp.tensors().stream().flatMap(t -> t.pieces().stream()).map(p -> p.source().file()).collect(Collectors.toSet()))
                    .hasSize(tp * pp * ep);
            for (String key : expected) {
                GlobalTensor g = got.get(key);
                long[] shape = s.shapes.get(key);
                boolean vocabTensor = key.equals("embedding.word_embeddings.weight") || key.equals("output_layer.weight");
                MemorySegment b = bytes(arena, g);
                if (!vocabTensor) assertThat(g.shape()).as(key).isEqualTo(shape);
                long n = vocabTensor ? vocab * shape[1] : g.numel();
                for (long k = 0; k < n; k++)
                    assertThat(b.getAtIndex(SyntheticMegatron.F32, k)).as(key + "[" + k + "]").isEqualTo(s.value(key, k));
                for (long k = n; k < g.numel(); k++)
                    assertThat(b.getAtIndex(SyntheticMegatron.F32, k)).as(key + " padding [" + k + "]").isZero();
            }
        }
    }

    /** Mixtral-like, TP2 × PP2 × EP2 (world 8): which rank file holds which chunk, by Megatron's rank order. */
    @Test
    void tp2pp2ep2LayoutPutsEachChunkInItsOwnersFile() throws IOException {
        long L = 2, E = 4, FM = 6, H = 16;
        SyntheticMegatron s = LlamaFamiliesSyntheticTest.attentionAndEmbeddings(LlamaFamiliesSyntheticTest.llamaArgs(4, 2, false)
                .arg("ffn_hidden_size", 20L).arg("num_experts", E).arg("moe_ffn_hidden_size", FM)
                .arg("moe_router_score_function", "softmax").arg("moe_router_pre_softmax", false)
                .arg("moe_router_topk_scaling_factor", null).arg("moe_router_enable_expert_bias", false)
                .arg("moe_shared_expert_intermediate_size", null), LlamaFamiliesSyntheticTest.QKV, 4, false)
                .tensor("decoder.layers.mlp.linear_fc1.layer_norm_weight", L, H)
                .tensor("decoder.layers.mlp.router.weight", L, E, H)
                .tensor("decoder.layers.mlp.experts.experts.linear_fc1.weight", L, E, 2 * FM, H)
                .tensor("decoder.layers.mlp.experts.experts.linear_fc2.weight", L, E, H, FM);
        LlamaFamiliesSyntheticTest.finish(s, false);
        Path hf = tmp.resolve("hf"), mg = tmp.resolve("mg");
        try (CheckpointIndex index = s.index(tmp.resolve("ckpt"))) {
            new Converter().convert(index, ConvertOptions.of(index.path(), OutputFormat.HUGGINGFACE, hf), ConversionListener.NONE);
        }
        ConvertResult r = convert(ConvertOptions.of(hf, OutputFormat.MEGATRON, mg).withParallel(new Parallel(2, 2, 2)));
        assertThat(r.megatronFlags()).containsSubsequence("--expert-model-parallel-size", "2");
        // rank = tp + TP·(dp + DP·pp), DP = EP = 2; an expert's dp index is its EP rank
        Map<Integer, Set<String>> byRank = new TreeMap<>();
        try (CheckpointIndex imp = Checkpoints.open(mg)) {
            for (GlobalTensor t : imp.tensors())
                for (TensorPiece p : t.pieces())
                    byRank.computeIfAbsent(rankOf(p.source().file()), k -> new TreeSet<>()).add(t.key() + p.box());
            Map<Integer, Set<String>> want = new TreeMap<>();
            long vp = 256; // 10 → multiple of 128 × TP 2
            for (int t = 0; t < 2; t++) {
                add(want, t, "embedding.word_embeddings.weight", new long[]{t * vp / 2, 0}, new long[]{vp / 2, H});
                add(want, t + 4, "output_layer.weight", new long[]{t * vp / 2, 0}, new long[]{vp / 2, H});
            }
            add(want, 4, "decoder.final_layernorm.weight", new long[]{0}, new long[]{H});
            long qkv = LlamaFamiliesSyntheticTest.QKV, d = LlamaFamiliesSyntheticTest.D;
            for (long l = 0; l < L; l++) {
                int stage = (int) l; // one layer per stage
                String x = "decoder.layers.";
                add(want, 4 * stage, x + "self_attention.linear_qkv.layer_norm_weight", new long[]{l, 0}, new long[]{1, H});
                add(want, 4 * stage, x + "mlp.linear_fc1.layer_norm_weight", new long[]{l, 0}, new long[]{1, H});
                add(want, 4 * stage, x + "mlp.router.weight", new long[]{l, 0, 0}, new long[]{1, E, H});
                for (int t = 0; t < 2; t++) {
                    add(want, t + 4 * stage, x + "self_attention.linear_qkv.weight", new long[]{l, t * qkv / 2, 0}, new long[]{1, qkv / 2, H});
                    add(want, t + 4 * stage, x + "self_attention.linear_proj.weight", new long[]{l, 0, t * 2 * d}, new long[]{1, H, 2 * d});
                    for (long e = 0; e < E; e++) {
                        int rank = (int) (t + 2 * (e / 2) + 4 * stage);
                        add(want, rank, x + "mlp.experts.experts.linear_fc1.weight", new long[]{l, e, t * FM / 2, 0}, new long[]{1, 1, FM / 2, H});
                        add(want, rank, x + "mlp.experts.experts.linear_fc1.weight", new long[]{l, e, FM + t * FM / 2, 0}, new long[]{1, 1, FM / 2, H});
                        add(want, rank, x + "mlp.experts.experts.linear_fc2.weight", new long[]{l, e, 0, t * FM / 2}, new long[]{1, 1, H, FM / 2});
                    }
                }
            }
            assertThat(byRank).isEqualTo(want);
            Map<String, Integer> extra = new TreeMap<>();
            for (ObjectEntry o : imp.objects()) if (o.key().contains("_extra_state")) extra.put(o.key(), rankOf(o.file()));
            assertThat(extra).containsEntry("decoder.layers.self_attention.linear_qkv._extra_state/shard_1_2", 4)
                    .containsEntry("decoder.layers.mlp.experts.experts.linear_fc1._extra_state/shard_1.3_2.4", 6)
                    .containsEntry("decoder.layers.mlp.experts.experts.linear_fc2._extra_state/shard_0.1_2.4", 0)
                    .doesNotContainKey("decoder.layers.mlp.linear_fc1._extra_state/shard_0_2")
                    .hasSize((int) (L * 2 + L * E * 2));
        }
    }

    private static int rankOf(String file) {
        return Integer.parseInt(file.substring(2, file.indexOf('_', 2)));
    }

    private static void add(Map<Integer, Set<String>> m, int rank, String key, long[] o, long[] s) {
        m.computeIfAbsent(rank, k -> new TreeSet<>()).add(key + new Box(o, s));
    }

    @Test
    void refusesWhatTheLayoutOrFamilyCannotHold() throws IOException {
        Path hf = tmp.resolve("hf");
        try (CheckpointIndex index = LlamaFamiliesSyntheticTest.llama(false).index(tmp.resolve("ckpt"))) {
            new Converter().convert(index, ConvertOptions.of(index.path(), OutputFormat.HUGGINGFACE, hf), ConversionListener.NONE);
        }
        assertThatThrownBy(() -> convert(ConvertOptions.of(hf, OutputFormat.MEGATRON, tmp.resolve("a")).withParallel(new Parallel(1, 1, 2))))
                .isInstanceOf(FormatException.class).hasMessageContaining("needs a mixture-of-experts model");
        assertThatThrownBy(() -> convert(ConvertOptions.of(hf, OutputFormat.MEGATRON, tmp.resolve("b")).withParallel(new Parallel(8, 1, 1))))
                .isInstanceOf(FormatException.class).hasMessageContaining("--tp 8");
        assertThatThrownBy(() -> convert(ConvertOptions.of(hf, OutputFormat.MEGATRON, tmp.resolve("c")).withParallel(new Parallel(1, 3, 1))))
                .isInstanceOf(FormatException.class).hasMessageContaining("--pp 3");
        Path cfg = hf.resolve("config.json");
        Files.writeString(cfg, Files.readString(cfg).replace("\"llama\"", "\"deepseek_v3\""));
        assertThatThrownBy(() -> convert(ConvertOptions.of(hf, OutputFormat.MEGATRON, tmp.resolve("d"))))
                .isInstanceOf(FormatException.class).hasMessageContaining("model_type 'deepseek_v3'");
        assertThat(tmp.resolve("a")).doesNotExist();
        assertThat(tmp.resolve("d")).doesNotExist();
        assertThatThrownBy(() -> convert(ConvertOptions.of(Fixtures.path("megatron-llama-tp2", "checkpoint"), OutputFormat.MEGATRON, tmp.resolve("e"))))
                .isInstanceOf(FormatException.class).hasMessageContaining("Hugging Face model dirs");
    }

    /** transformers 5 writes RoPE as {@code rope_parameters} (theta, type, scaling in one object) and {@code dtype}. */
    @Test
    void readsTransformers5RopeParameters() throws IOException {
        Path hf = tmp.resolve("hf");
        try (CheckpointIndex index = LlamaFamiliesSyntheticTest.llama(false).index(tmp.resolve("ckpt"))) {
            new Converter().convert(index, ConvertOptions.of(index.path(), OutputFormat.HUGGINGFACE, hf), ConversionListener.NONE);
        }
        Path cfg = hf.resolve("config.json");
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        var root = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(cfg.toFile());
        root.remove("rope_theta");
        root.remove("rope_scaling");
        root.remove("torch_dtype");
        root.put("dtype", "bfloat16");
        root.putObject("rope_parameters").put("rope_type", "llama3").put("rope_theta", 500000.0).put("factor", 32.0)
                .put("low_freq_factor", 1.0).put("high_freq_factor", 4.0).put("original_max_position_embeddings", 8192);
        json.writeValue(cfg.toFile(), root);
        try (CheckpointIndex index = Checkpoints.open(hf)) {
            var m = Converter.plan(index, ConvertOptions.of(hf, OutputFormat.MEGATRON, tmp.resolve("mg"))).megatron();
            assertThat(m.args()).containsEntry("rotary_base", 500000L).containsEntry("use_rope_scaling", true)
                    .containsEntry("rope_scaling_factor", 32.0);
            assertThat(m.flags()).containsSubsequence("--rotary-base", "500000", "--use-rope-scaling", "--rope-scaling-factor", "32.0");
        }
        root.withObject("/rope_parameters").put("high_freq_factor", 2.0);
        json.writeValue(cfg.toFile(), root);
        try (CheckpointIndex index = Checkpoints.open(hf)) {
            assertThatThrownBy(() -> Converter.plan(index, ConvertOptions.of(hf, OutputFormat.MEGATRON, tmp.resolve("mg"))))
                    .isInstanceOf(FormatException.class).hasMessageContaining("config.json").hasMessageContaining("high_freq_factor 4");
        }
    }

    /**
     * The family tables read both ways: their inverse rules applied to a Megatron checkpoint give exactly the HF
     * tensors the exporters plan (same names, same box copies of the same source slices).
     */
    @ParameterizedTest
    @CsvSource({"llama", "llama-tied", "qwen2", "qwen3", "mixtral", "gpt2"})
    void tablesReadBackwardsGiveTheExportersPlan(String family) throws IOException {
        SyntheticMegatron s = family(family);
        Path hf = tmp.resolve("hf");
        try (CheckpointIndex index = s.index(tmp.resolve("ckpt"))) {
            Converter.Planned exported = Converter.plan(index, ConvertOptions.of(index.path(), OutputFormat.HUGGINGFACE, hf));
            new Converter().convert(index, ConvertOptions.of(index.path(), OutputFormat.HUGGINGFACE, hf), ConversionListener.NONE);
            var config = ckpt.convert.mapping.imports.HfConfig.read(hf);
            var fam = ckpt.convert.mapping.imports.ImportFamilies.of(config);
            var model = fam.config().apply(config, 1L);
            var src = new ckpt.convert.mapping.MegatronSource(index, model.layers());
            Map<String, Object> want = new TreeMap<>(), got = new TreeMap<>();
            exported.plan().tensors().forEach(t -> want.put(t.name(), List.of(t.dtype(), List.of(t.shape()[0]), t.items())));
            fam.toHf(model, src).forEach(t -> got.put(t.name(), List.of(t.dtype(), List.of(t.shape()[0]), t.items())));
            assertThat(got).isEqualTo(want);
        }
    }

    /** Mistral's sliding window: HF {@code sliding_window} w ↔ mcore {@code window_size (w-1, 0)}, both ways. */
    @Test
    void mistralSlidingWindowRoundTrips() throws IOException {
        Path hf = tmp.resolve("hf"), mg = tmp.resolve("mg"), back = tmp.resolve("back");
        try (CheckpointIndex index = LlamaFamiliesSyntheticTest.llama(false).index(tmp.resolve("ckpt"))) {
            new Converter().convert(index, ConvertOptions.of(index.path(), OutputFormat.HUGGINGFACE, hf), ConversionListener.NONE);
        }
        Path cfg = hf.resolve("config.json");
        Files.writeString(cfg, Files.readString(cfg).replace("\"model_type\" : \"llama\"", "\"model_type\" : \"mistral\", \"sliding_window\" : 4096"));
        ConvertResult r = convert(ConvertOptions.of(hf, OutputFormat.MEGATRON, mg));
        assertThat(r.megatronFlags()).containsSubsequence("--window-size", "4095,0");
        convert(ConvertOptions.of(mg, OutputFormat.HUGGINGFACE, back).withArch("mistral"));
        JsonNode c = Fixtures.json(back.resolve("config.json"));
        assertThat(c.get("sliding_window").asLong()).isEqualTo(4096);
        assertThat(c.get("model_type").asText()).isEqualTo("mistral");
    }

    /** {@code --dtype fp32} of a bf16 model: every element widened exactly, through the cast path of the executor. */
    @Test
    void castsOnImport() throws IOException {
        Path qwen3 = Fixtures.path("megatron-qwen3-tp2", "checkpoint");
        Path hf = tmp.resolve("hf"), mg = tmp.resolve("mg");
        convert(ConvertOptions.of(qwen3, OutputFormat.HUGGINGFACE, hf));
        new Converter(new PlanExecutor(100)) // a tiny scratch: casts go in many row chunks
                .convert(ConvertOptions.of(hf, OutputFormat.MEGATRON, mg).withDtype(DtypeChoice.FP32)
                        .withParallel(new Parallel(2, 1, 1)), ConversionListener.NONE);
        try (CheckpointIndex orig = Checkpoints.open(qwen3); CheckpointIndex imp = Checkpoints.open(mg); Arena arena = Arena.ofConfined()) {
            assertThat(imp.args()).containsEntry("bf16", false);
            long vocab = ((Number) orig.args().get("vocab_size")).longValue();
            for (GlobalTensor w : orig.tensors()) {
                if (!isModelWeight(w)) continue;
                GlobalTensor g = imp.tensor(w.key()).orElseThrow();
                assertThat(g.dtype()).isEqualTo(DType.FLOAT32);
                MemorySegment a = bytes(arena, w), b = bytes(arena, g);
                long n = w.key().startsWith("embedding.") || w.key().startsWith("output_layer.") ? vocab * w.dim(1) : w.numel();
                for (long k = 0; k < n; k++)
                    assertThat(b.getAtIndex(SyntheticMegatron.F32, k)).as(w.key() + "[" + k + "]")
                            .isEqualTo(Float.intBitsToFloat((a.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, k) & 0xFFFF) << 16));
            }
        }
    }
}
