package ckpt.convert.exec;

import ckpt.convert.index.CheckpointIndex;
import ckpt.format.FormatException;
import ckpt.format.pickle.PyDict;
import ckpt.format.safetensors.ShardedSafetensors;
import ckpt.format.testing.Fixtures;
import ckpt.format.torchsave.TensorRef;
import ckpt.format.torchsave.TorchSaveArchive;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import static ckpt.convert.exec.Gpt2ConvertTest.check;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Qwen2 (QKV bias split per query group, tied and untied), Mixtral (expert un-stacking into w1/w3/w2, router →
 * gate, pre-MLP norm → post_attention_layernorm), {@code --format pytorch} expert names, {@code --arch auto} among
 * the families, and refusals of Megatron features no family represents, on small synthetic indexes whose element
 * values encode their own position (expected values are index arithmetic).
 */
class LlamaFamiliesSyntheticTest {
    // Qwen2: 4 heads in 2 groups of head dim 4; hidden 16.
    static final long L = 2, H = 16, N = 4, G = 2, D = 4, F = 12, VP = 16, V = 10, QKV = (N + 2 * G) * D;
    // Mixtral: 4 experts, top-2, expert FFN 6 (ffn_hidden_size 20 is not used by MoE layers); 2 heads, 1 group.
    static final long E = 4, FM = 6, MN = 2, MG = 1, MQKV = (MN + 2 * MG) * D;

    @TempDir
    Path tmp;

    /** Args shared by the Llama-like families (RMSNorm, SwiGLU, RoPE, GQA, no linear biases). */
    static SyntheticMegatron llamaArgs(long heads, long groups, boolean tied) {
        return new SyntheticMegatron()
                .arg("num_layers", L).arg("hidden_size", H).arg("num_attention_heads", heads).arg("kv_channels", D)
                .arg("group_query_attention", true).arg("num_query_groups", groups).arg("ffn_hidden_size", F)
                .arg("vocab_size", V).arg("padded_vocab_size", VP).arg("max_position_embeddings", 32L).arg("seq_length", 32L)
                .arg("normalization", "RMSNorm").arg("layernorm_epsilon", 1e-6).arg("swiglu", true)
                .arg("position_embedding_type", "rope").arg("rotary_base", 1000000L).arg("rotary_percent", 1.0)
                .arg("add_bias_linear", false).arg("add_qkv_bias", false).arg("qk_layernorm", false)
                .arg("untie_embeddings_and_output_weights", !tied).arg("transformer_impl", "transformer_engine")
                .arg("moe_router_topk", 2L).arg("moe_layer_freq", 1L); // argparse defaults, present on dense models too
    }

    static SyntheticMegatron attentionAndEmbeddings(SyntheticMegatron s, long qkvRows, long heads, boolean tied) {
        s.tensor("embedding.word_embeddings.weight", VP, H)
                .tensor("decoder.layers.self_attention.linear_qkv.layer_norm_weight", L, H)
                .tensor("decoder.layers.self_attention.linear_qkv.weight", L, qkvRows, H)
                .tensor("decoder.layers.self_attention.linear_proj.weight", L, H, heads * D);
        return s;
    }

    static SyntheticMegatron finish(SyntheticMegatron s, boolean tied) {
        s.tensor("decoder.final_layernorm.weight", H);
        if (!tied) s.tensor("output_layer.weight", VP, H);
        return s;
    }

    static SyntheticMegatron denseMlp(SyntheticMegatron s) {
        return s.tensor("decoder.layers.mlp.linear_fc1.layer_norm_weight", L, H)
                .tensor("decoder.layers.mlp.linear_fc1.weight", L, 2 * F, H)
                .tensor("decoder.layers.mlp.linear_fc2.weight", L, H, F);
    }

    static SyntheticMegatron llama(boolean tied) {
        return finish(denseMlp(attentionAndEmbeddings(llamaArgs(N, G, tied), QKV, N, tied)), tied);
    }

    static SyntheticMegatron qwen2(boolean tied) {
        SyntheticMegatron s = attentionAndEmbeddings(llamaArgs(N, G, tied).arg("add_qkv_bias", true), QKV, N, tied)
                .tensor("decoder.layers.self_attention.linear_qkv.bias", L, QKV);
        return finish(denseMlp(s), tied);
    }

    static SyntheticMegatron qwen3() {
        SyntheticMegatron s = attentionAndEmbeddings(llamaArgs(N, G, false).arg("qk_layernorm", true), QKV, N, false)
                .tensor("decoder.layers.self_attention.q_layernorm.weight", L, D)
                .tensor("decoder.layers.self_attention.k_layernorm.weight", L, D);
        return finish(denseMlp(s), false);
    }

    /** Mixtral-style, experts stacked over layers as torch_dist saves a homogeneous MoE model. */
    static SyntheticMegatron mixtral() {
        SyntheticMegatron s = attentionAndEmbeddings(llamaArgs(MN, MG, false).arg("ffn_hidden_size", 20L)
                .arg("num_experts", E).arg("moe_ffn_hidden_size", FM).arg("moe_aux_loss_coeff", 0.02)
                .arg("moe_router_score_function", "softmax").arg("moe_router_pre_softmax", false)
                .arg("moe_router_topk_scaling_factor", null).arg("moe_router_enable_expert_bias", false)
                .arg("moe_shared_expert_intermediate_size", null).arg("moe_grouped_gemm", true), MQKV, MN, false)
                .tensor("decoder.layers.mlp.linear_fc1.layer_norm_weight", L, H)
                .tensor("decoder.layers.mlp.router.weight", L, E, H)
                .tensor("decoder.layers.mlp.experts.experts.linear_fc1.weight", L, E, 2 * FM, H)
                .tensor("decoder.layers.mlp.experts.experts.linear_fc2.weight", L, E, H, FM);
        return finish(s, false);
    }

    /** mcore row of HF q_proj row {@code r}: head {@code r/D} is query {@code t} of group {@code j}. */
    static long qRow(long r, long heads, long groups) {
        long p = heads / groups, h = r / D, j = h / p, t = h % p;
        return j * (p + 2) * D + t * D + r % D;
    }

    /** mcore row of HF k_proj ({@code part} 0) or v_proj ({@code part} 1) row {@code r}. */
    static long kvRow(long r, long heads, long groups, int part) {
        long p = heads / groups, j = r / D;
        return j * (p + 2) * D + (p + part) * D + r % D;
    }

    private Path convert(SyntheticMegatron s, OutputFormat f, String name) throws IOException {
        Path out = tmp.resolve(name);
        try (CheckpointIndex index = s.index(tmp.resolve("ckpt-" + name))) {
            new Converter().convert(index, ConvertOptions.of(index.path(), f, out), ConversionListener.NONE);
        }
        return out;
    }

    private static String family(SyntheticMegatron s, Path tmp) {
        try (CheckpointIndex index = s.index(tmp.resolve("ckpt"))) {
            return Converter.plan(index, ConvertOptions.of(index.path(), OutputFormat.HUGGINGFACE, tmp.resolve("o"))).family().name();
        }
    }

    private void refused(SyntheticMegatron s, String arch, String... messages) {
        try (CheckpointIndex index = s.index(tmp.resolve("ckpt"))) {
            var o = ConvertOptions.of(index.path(), OutputFormat.HUGGINGFACE, tmp.resolve("o")).withArch(arch);
            var t = assertThatThrownBy(() -> Converter.plan(index, o)).isInstanceOf(FormatException.class);
            for (String m : messages) t.hasMessageContaining(m);
        }
    }

    @Test
    void qwen2QkvBiasIsSplitPerQueryGroupLikeTheWeightRows() throws IOException {
        SyntheticMegatron s = qwen2(false);
        Path out = convert(s, OutputFormat.HUGGINGFACE, "qwen2");
        String w = "decoder.layers.self_attention.linear_qkv.weight", b = "decoder.layers.self_attention.linear_qkv.bias";
        try (ShardedSafetensors st = ShardedSafetensors.open(out)) {
            assertThat(st.weightMap()).containsKey("lm_head.weight").doesNotContainKey("model.layers.0.self_attn.o_proj.bias")
                    .doesNotContainKey("model.layers.0.mlp.gate_proj.bias").hasSize(2 + 12 * (int) L + 1);
            check(st, "lm_head.weight", new long[]{V, H}, (r, c) -> s.value("output_layer.weight", r * H + c));
            for (long i = 0; i < L; i++) {
                final long li = i;
                String p = "model.layers." + i + ".self_attn.";
                check(st, p + "q_proj.bias", new long[]{N * D}, (r, c) -> s.value(b, li * QKV + qRow(r, N, G)));
                check(st, p + "k_proj.bias", new long[]{G * D}, (r, c) -> s.value(b, li * QKV + kvRow(r, N, G, 0)));
                check(st, p + "v_proj.bias", new long[]{G * D}, (r, c) -> s.value(b, li * QKV + kvRow(r, N, G, 1)));
                check(st, p + "q_proj.weight", new long[]{N * D, H}, (r, c) -> s.value(w, (li * QKV + qRow(r, N, G)) * H + c));
                check(st, p + "k_proj.weight", new long[]{G * D, H}, (r, c) -> s.value(w, (li * QKV + kvRow(r, N, G, 0)) * H + c));
                check(st, p + "v_proj.weight", new long[]{G * D, H}, (r, c) -> s.value(w, (li * QKV + kvRow(r, N, G, 1)) * H + c));
                check(st, "model.layers." + i + ".mlp.up_proj.weight", new long[]{F, H},
                        (r, c) -> s.value("decoder.layers.mlp.linear_fc1.weight", (li * 2 * F + F + r) * H + c));
            }
        }
        JsonNode cfg = Fixtures.json(out.resolve("config.json"));
        assertThat(cfg.get("architectures").get(0).asText()).isEqualTo("Qwen2ForCausalLM");
        assertThat(cfg.get("model_type").asText()).isEqualTo("qwen2");
        assertThat(cfg.get("rope_theta").asDouble()).isEqualTo(1e6);
        assertThat(cfg.get("num_key_value_heads").asInt()).isEqualTo((int) G);
        assertThat(cfg.get("rms_norm_eps").asDouble()).isEqualTo(1e-6);
        assertThat(cfg.get("tie_word_embeddings").asBoolean()).isFalse();
        assertThat(cfg.get("use_sliding_window").asBoolean()).isFalse();
        assertThat(cfg.get("sliding_window").isNull()).isTrue();
        assertThat(cfg.get("max_window_layers").asInt()).isEqualTo((int) L);
        assertThat(cfg.has("attention_bias")).isFalse();
        assertThat(cfg.has("mlp_bias")).isFalse();
    }

    @Test
    void tiedQwen2HasNoLmHead() throws IOException {
        SyntheticMegatron s = qwen2(true);
        Path out = convert(s, OutputFormat.HUGGINGFACE, "qwen2-tied");
        try (ShardedSafetensors st = ShardedSafetensors.open(out)) {
            assertThat(st.weightMap()).doesNotContainKey("lm_head.weight").hasSize(2 + 12 * (int) L);
            check(st, "model.embed_tokens.weight", new long[]{V, H}, (r, c) -> s.value("embedding.word_embeddings.weight", r * H + c));
            check(st, "model.layers.1.self_attn.v_proj.bias", new long[]{G * D},
                    (r, c) -> s.value("decoder.layers.self_attention.linear_qkv.bias", QKV + kvRow(r, N, G, 1)));
        }
        assertThat(Fixtures.json(out.resolve("config.json")).get("tie_word_embeddings").asBoolean()).isTrue();
    }

    @Test
    void mixtralExpertsAreUnstackedIntoW1W3W2() throws IOException {
        SyntheticMegatron s = mixtral();
        Path out = convert(s, OutputFormat.HUGGINGFACE, "mixtral");
        String fc1 = "decoder.layers.mlp.experts.experts.linear_fc1.weight", fc2 = "decoder.layers.mlp.experts.experts.linear_fc2.weight";
        try (ShardedSafetensors st = ShardedSafetensors.open(out)) {
            assertThat(st.weightMap()).doesNotContainKey("model.layers.0.mlp.gate_proj.weight")
                    .hasSize(2 + (int) (L * (6 + 1 + 3 * E)) + 1);
            for (long i = 0; i < L; i++) {
                final long li = i;
                String p = "model.layers." + i + ".";
                check(st, p + "post_attention_layernorm.weight", new long[]{H},
                        (r, c) -> s.value("decoder.layers.mlp.linear_fc1.layer_norm_weight", li * H + r));
                check(st, p + "block_sparse_moe.gate.weight", new long[]{E, H},
                        (r, c) -> s.value("decoder.layers.mlp.router.weight", (li * E + r) * H + c));
                check(st, p + "self_attn.k_proj.weight", new long[]{MG * D, H},
                        (r, c) -> s.value("decoder.layers.self_attention.linear_qkv.weight", (li * MQKV + kvRow(r, MN, MG, 0)) * H + c));
                for (long e = 0; e < E; e++) {
                    final long le = e;
                    String x = p + "block_sparse_moe.experts." + e + ".";
                    long base = (li * E + le) * 2 * FM;
                    check(st, x + "w1.weight", new long[]{FM, H}, (r, c) -> s.value(fc1, (base + r) * H + c));
                    check(st, x + "w3.weight", new long[]{FM, H}, (r, c) -> s.value(fc1, (base + FM + r) * H + c));
                    check(st, x + "w2.weight", new long[]{H, FM}, (r, c) -> s.value(fc2, ((li * E + le) * H + r) * FM + c));
                }
            }
        }
        JsonNode cfg = Fixtures.json(out.resolve("config.json"));
        assertThat(cfg.get("architectures").get(0).asText()).isEqualTo("MixtralForCausalLM");
        assertThat(cfg.get("model_type").asText()).isEqualTo("mixtral");
        assertThat(cfg.get("num_local_experts").asInt()).isEqualTo((int) E);
        assertThat(cfg.get("num_experts_per_tok").asInt()).isEqualTo(2);
        assertThat(cfg.get("intermediate_size").asInt()).isEqualTo((int) FM);
        assertThat(cfg.get("router_aux_loss_coef").asDouble()).isEqualTo(0.02);
        assertThat(cfg.get("output_router_logits").asBoolean()).isFalse();
        assertThat(cfg.get("num_key_value_heads").asInt()).isEqualTo((int) MG);
        assertThat(cfg.get("head_dim").asInt()).isEqualTo((int) D);
        assertThat(cfg.get("sliding_window").isNull()).isTrue();
        assertThat(cfg.has("attention_bias")).isFalse();
    }

    @Test
    void mixtralWithPerLayerExpertKeysAndAStandalonePreMlpNorm() throws IOException {
        // TE spec: MoE layers keep a standalone pre_mlp_layernorm; non-homogeneous saves put experts under each layer.
        SyntheticMegatron s = attentionAndEmbeddings(llamaArgs(MN, MG, false)
                .arg("num_experts", E).arg("moe_ffn_hidden_size", FM), MQKV, MN, false);
        for (long i = 0; i < L; i++) {
            s.tensor("decoder.layers." + i + ".pre_mlp_layernorm.weight", H)
                    .tensor("decoder.layers." + i + ".mlp.router.weight", E, H)
                    .tensor("decoder.layers." + i + ".mlp.experts.experts.linear_fc1.weight", E, 2 * FM, H)
                    .tensor("decoder.layers." + i + ".mlp.experts.experts.linear_fc2.weight", E, H, FM);
        }
        finish(s, false);
        Path out = convert(s, OutputFormat.HUGGINGFACE, "mixtral-per-layer");
        try (ShardedSafetensors st = ShardedSafetensors.open(out)) {
            check(st, "model.layers.1.post_attention_layernorm.weight", new long[]{H},
                    (r, c) -> s.value("decoder.layers.1.pre_mlp_layernorm.weight", r));
            check(st, "model.layers.1.block_sparse_moe.experts.3.w3.weight", new long[]{FM, H},
                    (r, c) -> s.value("decoder.layers.1.mlp.experts.experts.linear_fc1.weight", ((3 * 2 * FM) + FM + r) * H + c));
            check(st, "model.layers.1.block_sparse_moe.experts.2.w2.weight", new long[]{H, FM},
                    (r, c) -> s.value("decoder.layers.1.mlp.experts.experts.linear_fc2.weight", (2 * H + r) * FM + c));
        }
    }

    @Test
    void pytorchFormatNamesExpertsAsSequentialLocalExperts() throws IOException {
        SyntheticMegatron s = mixtral().arg("transformer_impl", "local");
        Path file = convert(s, OutputFormat.PYTORCH, "mixtral-pt").resolve("model.pt");
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file)) {
            TorchSaveArchive archive = TorchSaveArchive.open(file, ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena));
            PyDict sd = (PyDict) ((PyDict) archive.root()).get("model_state_dict");
            List<String> keys = new ArrayList<>();
            sd.items().keySet().forEach(k -> keys.add(String.valueOf(k)));
            List<String> want = new ArrayList<>();
            want.add("embedding.word_embeddings.weight");
            for (long i = 0; i < L; i++) {
                String p = "decoder.layers." + i + ".";
                want.addAll(List.of(p + "input_layernorm.weight", p + "self_attention.linear_qkv.weight",
                        p + "self_attention.linear_proj.weight", p + "pre_mlp_layernorm.weight", p + "mlp.router.weight"));
                for (long e = 0; e < E; e++) want.add(p + "mlp.experts.local_experts." + e + ".linear_fc1.weight");
                for (long e = 0; e < E; e++) want.add(p + "mlp.experts.local_experts." + e + ".linear_fc2.weight");
            }
            want.addAll(List.of("decoder.final_layernorm.weight", "output_layer.weight"));
            assertThat(new TreeSet<>(keys)).isEqualTo(new TreeSet<>(want));
            for (long i = 0; i < L; i++)
                for (long e = 0; e < E; e++) {
                    TensorRef t1 = (TensorRef) sd.get("decoder.layers." + i + ".mlp.experts.local_experts." + e + ".linear_fc1.weight");
                    assertThat(t1.shape()).containsExactly(2 * FM, H);
                    expectValues(archive.view(t1).storage(), s, "decoder.layers.mlp.experts.experts.linear_fc1.weight", (i * E + e) * 2 * FM * H);
                    TensorRef t2 = (TensorRef) sd.get("decoder.layers." + i + ".mlp.experts.local_experts." + e + ".linear_fc2.weight");
                    assertThat(t2.shape()).containsExactly(H, FM);
                    expectValues(archive.view(t2).storage(), s, "decoder.layers.mlp.experts.experts.linear_fc2.weight", (i * E + e) * H * FM);
                }
            TensorRef router = (TensorRef) sd.get("decoder.layers.1.mlp.router.weight");
            assertThat(router.shape()).containsExactly(E, H);
            expectValues(archive.view(router).storage(), s, "decoder.layers.mlp.router.weight", E * H);
        }
    }

    /** A contiguous run of the synthetic tensor {@code key} starting at flat element {@code from}. */
    private static void expectValues(MemorySegment data, SyntheticMegatron s, String key, long from) {
        long n = data.byteSize() / 4;
        assertThat(n).isPositive();
        for (long k = 0; k < n; k++)
            assertThat(data.getAtIndex(SyntheticMegatron.F32, k)).as(key + "[" + (from + k) + "]").isEqualTo(s.value(key, from + k));
    }

    @Test
    void autoTellsTheFamiliesApartFromTheSavedArgs() {
        assertThat(family(llama(false), tmp)).isEqualTo("llama");
        assertThat(family(llama(true), tmp)).isEqualTo("llama");
        assertThat(family(llama(false).arg("window_size", List.of(127L, 0L)), tmp)).isEqualTo("mistral");
        assertThat(family(qwen2(false), tmp)).isEqualTo("qwen2");
        assertThat(family(qwen2(true), tmp)).isEqualTo("qwen2");
        assertThat(family(qwen3(), tmp)).isEqualTo("qwen3");
        assertThat(family(mixtral(), tmp)).isEqualTo("mixtral");
        assertThat(family(Gpt2ConvertTest.gpt2(true), tmp)).isEqualTo("gpt2");
    }

    @Test
    void anExplicitFamilyThatDoesNotFitSaysWhy() {
        refused(qwen3(), "qwen2", "Qwen2ForCausalLM", "q/k layernorm", "no QKV bias");
        refused(qwen2(false), "qwen3", "Qwen3ForCausalLM", "no q/k layernorm", "linear biases");
        refused(qwen2(false), "llama", "QKV bias without other linear biases");
        refused(llama(false), "mixtral", "no mixture of experts");
        refused(mixtral(), "qwen3", "mixture of experts (num_experts=4)");
    }

    @Test
    void moeVariantsMixtralCannotHoldAreRefusedByName() {
        SyntheticMegatron shared = mixtral().arg("moe_shared_expert_intermediate_size", 8L)
                .tensor("decoder.layers.mlp.shared_experts.linear_fc1.weight", L, 16, H)
                .tensor("decoder.layers.mlp.shared_experts.linear_fc2.weight", L, H, 8);
        refused(shared, "auto", "no supported architecture", "mixtral: shared experts (moe_shared_expert_intermediate_size=8)");
        SyntheticMegatron bias = mixtral().arg("moe_router_enable_expert_bias", true).tensor("decoder.layers.mlp.router.expert_bias", L, E);
        refused(bias, "auto", "mixtral: router expert bias");
        refused(mixtral().arg("moe_layer_freq", List.of(0L, 1L)), "auto", "dense layers between MoE layers");
        refused(mixtral().arg("moe_router_score_function", "sigmoid"), "auto", "sigmoid router scores");
        refused(mixtral().arg("moe_router_pre_softmax", true), "auto", "moe_router_pre_softmax");
        refused(mixtral().arg("qk_layernorm", true), "auto", "mixtral: q/k layernorm", "qwen3: mixture of experts");
        refused(mixtral().arg("multi_latent_attention", true), "auto", "mixtral: multi-latent attention");
        refused(qwen3().arg("multi_latent_attention", true), "auto", "qwen3: multi-latent attention");
        SyntheticMegatron perExpert = mixtral().tensor("decoder.layers.mlp.experts.linear_fc1.weight0", L, 2 * FM, H);
        refused(perExpert, "auto", "expert weights in a layout ckpt does not map (decoder.layers.mlp.experts.linear_fc1.weight0");
        refused(qwen2(false).arg("attention_output_gate", true), "auto", "qwen2: gated attention output");
        refused(qwen3().arg("rotary_interleaved", true), "auto", "qwen3: interleaved RoPE");
    }

    @Test
    void aBiasTheFamilyHasNoPlaceForFailsTheConversion() {
        // Args say QKV bias only, yet an o_proj bias is stored: Qwen2 never looks it up, so the plan refuses.
        SyntheticMegatron s = qwen2(false).tensor("decoder.layers.self_attention.linear_proj.bias", L, H);
        refused(s, "auto", "qwen2 mapping has no place for 1 tensor", "decoder.layers.self_attention.linear_proj.bias");
    }
}
