package ckpt.convert.exec;

import ckpt.format.safetensors.ShardedSafetensors;
import ckpt.format.tensor.DType;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real Qwen3-style fixture (TP=2, GQA 8 heads / 2 groups, head dim 16 ≠ hidden/heads = 8, q/k layernorm, no
 * biases, untied, vocab 1000 padded to 1024, rotary base 1e6) converted to HF: every tensor bit for bit against the
 * proven reader's global tensors transformed here by index arithmetic; config.json against the saved args as the
 * fixture's reference model.json records them.
 */
class MegatronQwen3ConvertTest {
    static final Path CKPT = Fixtures.path("megatron-qwen3-tp2/checkpoint");
    static final Path REF = Fixtures.path("megatron-qwen3-tp2/reference/iter_0000004");

    static Expected expected;
    static JsonNode args;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() throws IOException {
        expected = Expected.of(CKPT.resolve("iter_0000004"));
        args = Fixtures.json(REF.resolve("model.json")).get("args");
    }

    static int arg(String name) {
        return args.get(name).asInt();
    }

    static Map<String, byte[]> expectedHf() {
        int l = arg("num_layers"), n = arg("num_attention_heads"), g = arg("num_query_groups"), d = arg("kv_channels"),
                f = arg("ffn_hidden_size"), v = arg("vocab_size"), p = n / g;
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("model.embed_tokens.weight", expected.rows("embedding.word_embeddings.weight", -1, 0, v));
        String qkv = "decoder.layers.self_attention.linear_qkv.weight";
        for (int i = 0; i < l; i++) {
            String pre = "model.layers." + i + ".";
            List<byte[]> q = new ArrayList<>(), k = new ArrayList<>(), vv = new ArrayList<>();
            for (int j = 0; j < g; j++) {
                for (int t = 0; t < p; t++) q.add(expected.rows(qkv, i, (long) j * (p + 2) * d + (long) t * d, d));
                k.add(expected.rows(qkv, i, (long) j * (p + 2) * d + (long) p * d, d));
                vv.add(expected.rows(qkv, i, (long) j * (p + 2) * d + (long) (p + 1) * d, d));
            }
            m.put(pre + "input_layernorm.weight", expected.layer("decoder.layers.self_attention.linear_qkv.layer_norm_weight", i));
            m.put(pre + "self_attn.q_proj.weight", Expected.concat(q.toArray(byte[][]::new)));
            m.put(pre + "self_attn.k_proj.weight", Expected.concat(k.toArray(byte[][]::new)));
            m.put(pre + "self_attn.v_proj.weight", Expected.concat(vv.toArray(byte[][]::new)));
            m.put(pre + "self_attn.o_proj.weight", expected.layer("decoder.layers.self_attention.linear_proj.weight", i));
            m.put(pre + "self_attn.q_norm.weight", expected.layer("decoder.layers.self_attention.q_layernorm.weight", i));
            m.put(pre + "self_attn.k_norm.weight", expected.layer("decoder.layers.self_attention.k_layernorm.weight", i));
            m.put(pre + "post_attention_layernorm.weight", expected.layer("decoder.layers.mlp.linear_fc1.layer_norm_weight", i));
            m.put(pre + "mlp.gate_proj.weight", expected.rows("decoder.layers.mlp.linear_fc1.weight", i, 0, f));
            m.put(pre + "mlp.up_proj.weight", expected.rows("decoder.layers.mlp.linear_fc1.weight", i, f, f));
            m.put(pre + "mlp.down_proj.weight", expected.layer("decoder.layers.mlp.linear_fc2.weight", i));
        }
        m.put("model.norm.weight", expected.bytes.get("decoder.final_layernorm.weight"));
        m.put("lm_head.weight", expected.rows("output_layer.weight", -1, 0, v));
        return m;
    }

    static long[] shape(String hf) {
        int h = arg("hidden_size"), n = arg("num_attention_heads"), g = arg("num_query_groups"), d = arg("kv_channels"),
                f = arg("ffn_hidden_size"), v = arg("vocab_size");
        String s = hf.substring(hf.lastIndexOf('.', hf.length() - ".weight".length() - 1) + 1);
        return switch (s) {
            case "embed_tokens.weight", "lm_head.weight" -> new long[]{v, h};
            case "input_layernorm.weight", "post_attention_layernorm.weight", "norm.weight" -> new long[]{h};
            case "q_proj.weight" -> new long[]{(long) n * d, h};
            case "k_proj.weight", "v_proj.weight" -> new long[]{(long) g * d, h};
            case "o_proj.weight" -> new long[]{h, (long) n * d};
            case "q_norm.weight", "k_norm.weight" -> new long[]{d};
            case "gate_proj.weight", "up_proj.weight" -> new long[]{f, h};
            case "down_proj.weight" -> new long[]{h, f};
            default -> throw new AssertionError("unexpected tensor " + hf);
        };
    }

    @Test
    void qwen3TensorsAreTheSplitGlobalTensorsBitForBit() throws IOException {
        Path out = tmp.resolve("hf");
        ConvertResult r = new Converter().convert(ConvertOptions.of(CKPT, OutputFormat.HUGGINGFACE, out), ConversionListener.NONE);
        assertThat(r.architecture()).isEqualTo("Qwen3ForCausalLM");
        Map<String, byte[]> exp = expectedHf();
        assertThat(exp).hasSize(2 + 11 * arg("num_layers") + 1);
        try (ShardedSafetensors st = ShardedSafetensors.open(out)) {
            assertThat(new TreeSet<>(st.weightMap().keySet())).isEqualTo(new TreeSet<>(exp.keySet()));
            for (var e : exp.entrySet()) {
                ShardedSafetensors.Tensor t = st.tensor(e.getKey());
                assertThat(t.entry().dtype()).as(e.getKey()).isEqualTo(DType.BFLOAT16);
                assertThat(t.entry().shape()).as(e.getKey()).isEqualTo(shape(e.getKey()));
                assertThat(t.data().toArray(ValueLayout.JAVA_BYTE)).as(e.getKey()).isEqualTo(e.getValue());
            }
        }

        JsonNode cfg = Fixtures.json(out.resolve("config.json"));
        assertThat(cfg.get("architectures").get(0).asText()).isEqualTo("Qwen3ForCausalLM");
        assertThat(cfg.get("model_type").asText()).isEqualTo("qwen3");
        assertThat(cfg.get("hidden_size").asInt()).isEqualTo(arg("hidden_size"));
        assertThat(cfg.get("intermediate_size").asInt()).isEqualTo(arg("ffn_hidden_size"));
        assertThat(cfg.get("num_hidden_layers").asInt()).isEqualTo(arg("num_layers"));
        assertThat(cfg.get("num_attention_heads").asInt()).isEqualTo(arg("num_attention_heads"));
        assertThat(cfg.get("num_key_value_heads").asInt()).isEqualTo(arg("num_query_groups")).isEqualTo(2);
        assertThat(cfg.get("head_dim").asInt()).isEqualTo(arg("kv_channels")).isEqualTo(16)
                .isNotEqualTo(arg("hidden_size") / arg("num_attention_heads"));
        assertThat(cfg.get("rms_norm_eps").asDouble()).isEqualTo(args.get("layernorm_epsilon").asDouble()).isEqualTo(1e-6);
        assertThat(cfg.get("rope_theta").asDouble()).isEqualTo(args.get("rotary_base").asDouble()).isEqualTo(1e6);
        assertThat(cfg.get("rope_scaling").isNull()).isTrue();
        assertThat(cfg.get("vocab_size").asInt()).isEqualTo(arg("vocab_size")).isEqualTo(1000);
        assertThat(cfg.get("tie_word_embeddings").asBoolean()).isFalse();
        assertThat(args.get("untie_embeddings_and_output_weights").asBoolean()).isTrue();
        assertThat(cfg.get("attention_bias").asBoolean()).isFalse();
        assertThat(cfg.has("mlp_bias")).isFalse();
        assertThat(cfg.get("use_sliding_window").asBoolean()).isFalse();
        assertThat(cfg.get("sliding_window").isNull()).isTrue();
        assertThat(cfg.get("max_position_embeddings").asInt()).isEqualTo(arg("max_position_embeddings"));
        assertThat(cfg.get("hidden_act").asText()).isEqualTo("silu");
        assertThat(cfg.get("torch_dtype").asText()).isEqualTo("bfloat16");
        MegatronLlamaConvertTest.assertNoLeftovers(out);
    }
}
