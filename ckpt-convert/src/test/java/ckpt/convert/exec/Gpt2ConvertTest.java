package ckpt.convert.exec;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.plan.DtypeChoice;
import ckpt.format.FormatException;
import ckpt.format.safetensors.ShardedSafetensors;
import ckpt.format.tensor.DType;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * GPT-2 mapping on a synthetic stacked index: Conv1D transposes, the per-head [q;k;v] → [q|k|v] reorder of
 * c_attn, LayerNorm biases, learned positions, tied embeddings, vocab trim, activation_function.
 */
class Gpt2ConvertTest {
    static final int L = 2, H = 8, N = 2, D = 4, F = 32, VP = 16, V = 10, P = 6;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path tmp;

    /** The args of the synthetic GPT-2 (no tensors). */
    static SyntheticMegatron gpt2Args(boolean biasGeluFusion) {
        return new SyntheticMegatron()
                .arg("num_layers", (long) L).arg("hidden_size", (long) H).arg("num_attention_heads", (long) N)
                .arg("ffn_hidden_size", (long) F).arg("vocab_size", (long) V).arg("padded_vocab_size", (long) VP)
                .arg("max_position_embeddings", (long) P).arg("seq_length", (long) P).arg("normalization", "LayerNorm")
                .arg("layernorm_epsilon", 1e-5).arg("position_embedding_type", "learned_absolute")
                .arg("add_bias_linear", true).arg("bias_gelu_fusion", biasGeluFusion).arg("init_method_std", 0.02)
                .arg("untie_embeddings_and_output_weights", false).arg("transformer_impl", "transformer_engine");
    }

    static SyntheticMegatron gpt2(boolean biasGeluFusion) {
        SyntheticMegatron s = gpt2Args(biasGeluFusion);
        s.tensor("embedding.word_embeddings.weight", VP, H).tensor("embedding.position_embeddings.weight", P, H)
                .tensor("decoder.layers.self_attention.linear_qkv.layer_norm_weight", L, H)
                .tensor("decoder.layers.self_attention.linear_qkv.layer_norm_bias", L, H)
                .tensor("decoder.layers.self_attention.linear_qkv.weight", L, 3 * H, H)
                .tensor("decoder.layers.self_attention.linear_qkv.bias", L, 3 * H)
                .tensor("decoder.layers.self_attention.linear_proj.weight", L, H, H)
                .tensor("decoder.layers.self_attention.linear_proj.bias", L, H)
                .tensor("decoder.layers.mlp.linear_fc1.layer_norm_weight", L, H)
                .tensor("decoder.layers.mlp.linear_fc1.layer_norm_bias", L, H)
                .tensor("decoder.layers.mlp.linear_fc1.weight", L, F, H)
                .tensor("decoder.layers.mlp.linear_fc1.bias", L, F)
                .tensor("decoder.layers.mlp.linear_fc2.weight", L, H, F)
                .tensor("decoder.layers.mlp.linear_fc2.bias", L, H)
                .tensor("decoder.final_layernorm.weight", H).tensor("decoder.final_layernorm.bias", H);
        return s;
    }

    /** mcore row of c_attn column {@code j}: c_attn is [q heads | k heads | v heads], mcore per head [q_h; k_h; v_h]. */
    static long qkvRow(long j) {
        long part = j / H, head = (j % H) / D, dim = j % D;
        return head * 3 * D + part * D + dim;
    }

    @Test
    void gpt2TensorsAreTransposedAndReorderedAsHfExpects() throws IOException {
        SyntheticMegatron s = gpt2(true);
        Path out = tmp.resolve("gpt2");
        try (CheckpointIndex index = s.index(tmp.resolve("ckpt"))) {
            ConvertResult r = new Converter().convert(index, ConvertOptions.of(index.path(), OutputFormat.HUGGINGFACE, out), ConversionListener.NONE);
            assertThat(r.architecture()).isEqualTo("GPT2LMHeadModel");
        }
        try (ShardedSafetensors st = ShardedSafetensors.open(out)) {
            TreeSet<String> names = new TreeSet<>(st.weightMap().keySet());
            assertThat(names).contains("transformer.wte.weight", "transformer.wpe.weight", "transformer.ln_f.bias",
                    "transformer.h.1.attn.c_attn.weight", "transformer.h.1.mlp.c_proj.bias").doesNotContain("lm_head.weight");
            assertThat(names).hasSize(2 + 12 * L + 2);

            check(st, "transformer.wte.weight", new long[]{V, H}, (a, b) -> s.value("embedding.word_embeddings.weight", a * H + b));
            check(st, "transformer.wpe.weight", new long[]{P, H}, (a, b) -> s.value("embedding.position_embeddings.weight", a * H + b));
            for (int i = 0; i < L; i++) {
                final long li = i;
                String p = "transformer.h." + i + ".";
                check(st, p + "ln_1.bias", new long[]{H}, (a, b) -> s.value("decoder.layers.self_attention.linear_qkv.layer_norm_bias", li * H + a));
                check(st, p + "attn.c_attn.weight", new long[]{H, 3 * H},
                        (a, b) -> s.value("decoder.layers.self_attention.linear_qkv.weight", (li * 3 * H + qkvRow(b)) * H + a));
                check(st, p + "attn.c_attn.bias", new long[]{3 * H},
                        (a, b) -> s.value("decoder.layers.self_attention.linear_qkv.bias", li * 3 * H + qkvRow(a)));
                check(st, p + "attn.c_proj.weight", new long[]{H, H},
                        (a, b) -> s.value("decoder.layers.self_attention.linear_proj.weight", (li * H + b) * H + a));
                check(st, p + "ln_2.weight", new long[]{H}, (a, b) -> s.value("decoder.layers.mlp.linear_fc1.layer_norm_weight", li * H + a));
                check(st, p + "mlp.c_fc.weight", new long[]{H, F}, (a, b) -> s.value("decoder.layers.mlp.linear_fc1.weight", (li * F + b) * H + a));
                check(st, p + "mlp.c_fc.bias", new long[]{F}, (a, b) -> s.value("decoder.layers.mlp.linear_fc1.bias", li * F + a));
                check(st, p + "mlp.c_proj.weight", new long[]{F, H}, (a, b) -> s.value("decoder.layers.mlp.linear_fc2.weight", (li * H + b) * F + a));
            }
            check(st, "transformer.ln_f.weight", new long[]{H}, (a, b) -> s.value("decoder.final_layernorm.weight", a));
        }
        JsonNode cfg = Fixtures.json(out.resolve("config.json"));
        assertThat(cfg.get("architectures").get(0).asText()).isEqualTo("GPT2LMHeadModel");
        assertThat(cfg.get("n_embd").asInt()).isEqualTo(H);
        assertThat(cfg.get("n_layer").asInt()).isEqualTo(L);
        assertThat(cfg.get("n_head").asInt()).isEqualTo(N);
        assertThat(cfg.get("n_inner").asInt()).isEqualTo(F);
        assertThat(cfg.get("n_positions").asInt()).isEqualTo(P);
        assertThat(cfg.get("vocab_size").asInt()).isEqualTo(V);
        assertThat(cfg.get("layer_norm_epsilon").asDouble()).isEqualTo(1e-5);
        assertThat(cfg.get("activation_function").asText()).isEqualTo("gelu_new"); // fused bias-GELU = tanh approximation
        assertThat(cfg.get("tie_word_embeddings").asBoolean()).isTrue();
        assertThat(cfg.get("torch_dtype").asText()).isEqualTo("float32");
    }

    /**
     * Per-layer keys under the local spec's own norm names ({@code input_layernorm}, {@code pre_mlp_layernorm}, as a
     * checkpoint saved without the spec's key map has them; MAPPING.md §1.1) and an untied output layer: the same
     * HF tensors, the norms read from the local names, {@code lm_head} trimmed like the embedding.
     */
    @Test
    void localSpecNamesPerLayerKeysAndUntiedOutput() throws IOException {
        SyntheticMegatron s = gpt2Args(true).arg("untie_embeddings_and_output_weights", true).arg("transformer_impl", "local");
        s.tensor("embedding.word_embeddings.weight", VP, H).tensor("embedding.position_embeddings.weight", P, H);
        for (int i = 0; i < L; i++) {
            String p = "decoder.layers." + i + ".";
            s.tensor(p + "input_layernorm.weight", H).tensor(p + "input_layernorm.bias", H)
                    .tensor(p + "self_attention.linear_qkv.weight", 3 * H, H).tensor(p + "self_attention.linear_qkv.bias", 3 * H)
                    .tensor(p + "self_attention.linear_proj.weight", H, H).tensor(p + "self_attention.linear_proj.bias", H)
                    .tensor(p + "pre_mlp_layernorm.weight", H).tensor(p + "pre_mlp_layernorm.bias", H)
                    .tensor(p + "mlp.linear_fc1.weight", F, H).tensor(p + "mlp.linear_fc1.bias", F)
                    .tensor(p + "mlp.linear_fc2.weight", H, F).tensor(p + "mlp.linear_fc2.bias", H);
        }
        s.tensor("decoder.final_layernorm.weight", H).tensor("decoder.final_layernorm.bias", H).tensor("output_layer.weight", VP, H);
        Path out = tmp.resolve("gpt2-local");
        try (CheckpointIndex index = s.index(tmp.resolve("ckpt"))) {
            new Converter().convert(index, ConvertOptions.of(index.path(), OutputFormat.HUGGINGFACE, out), ConversionListener.NONE);
        }
        try (ShardedSafetensors st = ShardedSafetensors.open(out)) {
            assertThat(st.weightMap()).hasSize(2 + 12 * L + 2 + 1);
            check(st, "transformer.h.1.ln_1.weight", new long[]{H}, (a, b) -> s.value("decoder.layers.1.input_layernorm.weight", a));
            check(st, "transformer.h.1.ln_2.bias", new long[]{H}, (a, b) -> s.value("decoder.layers.1.pre_mlp_layernorm.bias", a));
            check(st, "transformer.h.1.attn.c_attn.weight", new long[]{H, 3 * H},
                    (a, b) -> s.value("decoder.layers.1.self_attention.linear_qkv.weight", qkvRow(b) * H + a));
            check(st, "lm_head.weight", new long[]{V, H}, (a, b) -> s.value("output_layer.weight", a * H + b));
        }
        assertThat(Fixtures.json(out.resolve("config.json")).get("tie_word_embeddings").asBoolean()).isFalse();
    }

    @Test
    void erfGeluWithoutFusionAndBf16CastOfTransposedWeights() throws IOException {
        SyntheticMegatron s = gpt2(false);
        Path out = tmp.resolve("gpt2-bf16");
        try (CheckpointIndex index = s.index(tmp.resolve("ckpt"))) {
            new Converter(new PlanExecutor(64)) // a tiny scratch: transposes and casts go in many row chunks
                    .convert(index, ConvertOptions.of(index.path(), OutputFormat.HUGGINGFACE, out).withDtype(DtypeChoice.BF16), ConversionListener.NONE);
        }
        assertThat(Fixtures.json(out.resolve("config.json")).get("activation_function").asText()).isEqualTo("gelu");
        assertThat(Fixtures.json(out.resolve("config.json")).get("torch_dtype").asText()).isEqualTo("bfloat16");
        try (ShardedSafetensors st = ShardedSafetensors.open(out)) {
            var t = st.tensor("transformer.h.1.attn.c_attn.weight");
            assertThat(t.entry().dtype()).isEqualTo(DType.BFLOAT16);
            MemorySegment data = t.data();
            for (long a = 0; a < H; a++)
                for (long b = 0; b < 3 * H; b++) {
                    float want = s.value("decoder.layers.self_attention.linear_qkv.weight", (1L * 3 * H + qkvRow(b)) * H + a);
                    assertThat(data.getAtIndex(I16, a * 3 * H + b)).isEqualTo(rneBf16(want));
                }
        }
    }

    @Test
    void gpt2RefusesWhatItCannotRepresent() throws IOException {
        SyntheticMegatron s = gpt2(true).arg("normalization", "RMSNorm").arg("swiglu", true);
        try (CheckpointIndex index = s.index(tmp.resolve("ckpt"))) {
            assertThatThrownBy(() -> Converter.plan(index, ConvertOptions.of(index.path(), OutputFormat.HUGGINGFACE, tmp.resolve("o"))))
                    .isInstanceOf(FormatException.class)
                    .hasMessageContaining("no supported architecture").hasMessageContaining("gpt2: ").hasMessageContaining("RMSNorm normalization (needs LayerNorm)");
        }
    }

    @Test
    void aWeightNoMappingKnowsIsAnErrorNotSilentlyDropped() throws IOException {
        SyntheticMegatron s = gpt2(true);
        s.tensor("decoder.layers.self_attention.extra_gate.weight", L, H);
        try (CheckpointIndex index = s.index(tmp.resolve("ckpt"))) {
            assertThatThrownBy(() -> Converter.plan(index, ConvertOptions.of(index.path(), OutputFormat.HUGGINGFACE, tmp.resolve("o"))))
                    .isInstanceOf(FormatException.class).hasMessageContaining("decoder.layers.self_attention.extra_gate.weight");
        }
    }

    /** The spec's fp32 → bf16 rounding (round half to even on the dropped 16 bits), for test expectations. */
    static short rneBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        int lower = u & 0xFFFF, upper = u >>> 16;
        if (lower > 0x8000 || (lower == 0x8000 && (upper & 1) == 1)) upper++;
        return (short) upper;
    }

    interface Value {
        float at(long a, long b);
    }

    static void check(ShardedSafetensors st, String name, long[] shape, Value v) {
        var t = st.tensor(name);
        assertThat(t.entry().shape()).as(name).isEqualTo(shape);
        MemorySegment data = t.data();
        long rows = shape[0], cols = shape.length > 1 ? shape[1] : 1;
        for (long a = 0; a < rows; a++)
            for (long b = 0; b < cols; b++)
                assertThat(data.getAtIndex(SyntheticMegatron.F32, a * cols + b)).as(name + "[" + a + "," + b + "]").isEqualTo(v.at(a, b));
    }
}
