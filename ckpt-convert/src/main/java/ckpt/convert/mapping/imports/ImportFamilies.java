package ckpt.convert.mapping.imports;

import ckpt.format.InputText;
import ckpt.convert.mapping.imports.MegatronModel.Attention;
import ckpt.convert.mapping.imports.MegatronModel.Mlp;
import ckpt.convert.mapping.imports.MegatronModel.Moe;
import ckpt.convert.mapping.imports.MegatronModel.Norm;
import ckpt.convert.mapping.imports.MegatronModel.Positions;
import ckpt.convert.mapping.imports.MegatronModel.Vocab;
import ckpt.convert.mapping.imports.Rule.FusedQkv;
import ckpt.convert.mapping.imports.Rule.GluMerge;
import ckpt.convert.mapping.imports.Rule.QkvMerge;
import ckpt.convert.mapping.imports.Rule.Rename;
import ckpt.convert.mapping.imports.Rule.Transpose;
import ckpt.convert.mapping.imports.Rule.VocabPad;
import ckpt.convert.mapping.imports.TensorRule.Scope;
import ckpt.convert.mapping.imports.TensorRule.Split;
import ckpt.format.tensor.DType;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The HF families ckpt imports into Megatron-core's local spec ({@code --transformer-impl local}): Llama/Mistral,
 * Qwen2/2.5, Qwen3, Mixtral and GPT-2 — the inverses of the {@code ckpt.convert.mapping} exports (MAPPING.md §3).
 * Keys are those of mcore's local-spec sharded state dict: the input and pre-MLP norms under
 * {@code self_attention.linear_qkv.layer_norm_*} / {@code mlp.linear_fc1.layer_norm_*} (the spec's keys map).
 */
public final class ImportFamilies {
    public static final long MAKE_VOCAB_SIZE_DIVISIBLE_BY = 128;

    private ImportFamilies() {
    }

    public static final ImportFamily LLAMA = new ImportFamily("llama", List.of("llama", "mistral", "qwen2", "qwen3"), null,
            ImportFamilies::llamaConfig, ImportFamilies::llamaTable);
    public static final ImportFamily MIXTRAL = new ImportFamily("mixtral", List.of("mixtral"), null,
            ImportFamilies::llamaConfig, ImportFamilies::llamaTable);
    public static final ImportFamily GPT2 = new ImportFamily("gpt2", List.of("gpt2"), "transformer.",
            ImportFamilies::gpt2Config, ImportFamilies::gpt2Table);

    public static final List<ImportFamily> ALL = List.of(LLAMA, MIXTRAL, GPT2);

    /** The family of an HF config's {@code model_type}, or a one-line refusal naming what is supported. */
    public static ImportFamily of(HfConfig c) {
        String type = c.modelType();
        return ALL.stream().filter(f -> f.modelTypes().contains(type)).findFirst().orElseThrow(() -> c.refuse(
                "cannot import model_type '" + InputText.excerpt(type) + "' into Megatron (supported: llama, mistral, qwen2, qwen3, mixtral, gpt2)"));
    }

    // ---- Llama-like: Llama 2/3, Mistral, Qwen2/2.5, Qwen3, Mixtral ----

    static MegatronModel llamaConfig(HfConfig c, Long tp) {
        String type = c.modelType();
        long hidden = c.requireLong("hidden_size"), heads = c.requireLong("num_attention_heads");
        long groups = c.optLong("num_key_value_heads").orElse(heads);
        long headDim = c.optLong("head_dim").orElse(hidden / heads);
        if (heads % groups != 0) throw c.refuse(heads + " attention heads do not split into " + groups + " key/value groups");
        boolean qwen2 = type.equals("qwen2"), qwen3 = type.equals("qwen3");
        // Qwen2 has q/k/v biases only; Llama's attention_bias puts them on o_proj too; Qwen3/Mistral/Mixtral have none.
        boolean attnBias = c.flag("attention_bias", false);
        boolean qkvBias = qwen2 || attnBias;
        boolean mlpBias = c.flag("mlp_bias", false);
        if (qwen3 && attnBias) throw c.refuse("Qwen3 with attention_bias: Megatron's Qwen3 layout has no attention biases");
        if (attnBias != mlpBias && !qwen2)
            throw c.refuse("attention_bias=" + attnBias + " but mlp_bias=" + mlpBias + ": Megatron's add_bias_linear sets both");
        Long window = null;
        if (type.equals("mistral") && c.get("sliding_window").isPresent()) window = c.requireLong("sliding_window");
        if ((qwen2 || qwen3) && c.flag("use_sliding_window", false)) throw c.refuse("sliding-window layers (use_sliding_window) are not supported");
        String act = c.get("hidden_act").map(String::valueOf).orElse("silu");
        if (!act.equals("silu")) throw c.refuse("hidden_act '" + InputText.excerpt(act) + "': Megatron's SwiGLU needs silu");
        MegatronModel.Builder b = MegatronModel.builder().family(type).layers(c.requireLong("num_hidden_layers")).hidden(hidden)
                .attention(new Attention(heads, groups, headDim, qkvBias, attnBias && !qwen2, qwen3, window))
                .norm(new Norm("RMSNorm", c.optDouble("rms_norm_eps").orElse(1e-6)))
                .positions(ropePositions(c))
                .vocab(vocab(c, tp))
                .dtype(c.dtype().orElse(DType.FLOAT32))
                .initStd(c.optDouble("initializer_range").orElse(null));
        long ffn = c.requireLong("intermediate_size");
        if (type.equals("mixtral")) {
            long experts = c.requireLong("num_local_experts"), topK = c.requireLong("num_experts_per_tok");
            if (topK > experts) throw c.refuse("num_experts_per_tok " + topK + " > num_local_experts " + experts);
            b.moe(new Moe(experts, topK, ffn)).mlp(new Mlp(ffn, "swiglu", false));
        } else {
            b.mlp(new Mlp(ffn, "swiglu", mlpBias));
        }
        return b.build();
    }

    /**
     * RoPE from {@code rope_theta} + {@code rope_scaling} (transformers 4) or {@code rope_parameters} (transformers 5,
     * which holds the theta, the type and the scaling fields in one object).
     */
    private static Positions ropePositions(HfConfig c) {
        long max = c.requireLong("max_position_embeddings");
        Optional<Map<String, Object>> params = c.object("rope_parameters");
        Optional<Map<String, Object>> scaling = params.isPresent() ? params : c.object("rope_scaling");
        double base = c.optDouble("rope_theta").orElse(params.map(p -> num(p, "rope_theta")).filter(v -> !v.isNaN()).orElse(10000.0));
        if (scaling.isEmpty()) return new Positions(base, null, null, max);
        Map<String, Object> s = scaling.get();
        String type = String.valueOf(s.getOrDefault("rope_type", s.getOrDefault("type", "default")));
        double factor = s.get("factor") instanceof Number n ? n.doubleValue() : 1.0;
        switch (type) {
            case "default" -> {
                return new Positions(base, null, null, max);
            }
            case "linear" -> {
                return new Positions(base, null, factor, max);
            }
            case "llama3" -> {
                // mcore hard-codes low/high frequency factors 1 and 4 and the original context 8192 (MAPPING.md §4.1)
                if (num(s, "low_freq_factor") != 1.0 || num(s, "high_freq_factor") != 4.0 || num(s, "original_max_position_embeddings") != 8192.0)
                    throw c.refuse("llama3 rope scaling with other than low_freq_factor 1, high_freq_factor 4, "
                            + "original_max_position_embeddings 8192: Megatron hard-codes those");
                return new Positions(base, factor, null, max);
            }
            default -> throw c.refuse("rope type '" + InputText.excerpt(type) + "' has no Megatron equivalent here");
        }
    }

    private static double num(Map<String, Object> m, String k) {
        return m.get(k) instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private static Vocab vocab(HfConfig c, long tp) {
        long v = c.requireLong("vocab_size");
        return new Vocab(v, Vocab.padded(v, MAKE_VOCAB_SIZE_DIVISIBLE_BY, tp), c.flag("tie_word_embeddings", false));
    }

    static List<TensorRule> llamaTable(MegatronModel m) {
        List<TensorRule> t = new ArrayList<>();
        Attention a = m.attention();
        String l = "model.layers.{i}.";
        t.add(new TensorRule("embedding.word_embeddings.weight", Scope.FIRST_STAGE, Split.ROWS, new VocabPad("model.embed_tokens.weight", m.vocab().size(), m.vocab().padded())));
        t.add(new TensorRule("self_attention.linear_qkv.layer_norm_weight", Scope.LAYER, Split.REPLICATED, new Rename(l + "input_layernorm.weight")));
        t.add(new TensorRule("self_attention.linear_qkv.weight", Scope.LAYER, Split.ROWS,
                new QkvMerge(l + "self_attn.q_proj.weight", l + "self_attn.k_proj.weight", l + "self_attn.v_proj.weight", a.heads(), a.groups(), a.headDim())));
        if (a.qkvBias())
            t.add(new TensorRule("self_attention.linear_qkv.bias", Scope.LAYER, Split.ROWS,
                    new QkvMerge(l + "self_attn.q_proj.bias", l + "self_attn.k_proj.bias", l + "self_attn.v_proj.bias", a.heads(), a.groups(), a.headDim())));
        if (a.qkNorm()) {
            t.add(new TensorRule("self_attention.q_layernorm.weight", Scope.LAYER, Split.REPLICATED, new Rename(l + "self_attn.q_norm.weight")));
            t.add(new TensorRule("self_attention.k_layernorm.weight", Scope.LAYER, Split.REPLICATED, new Rename(l + "self_attn.k_norm.weight")));
        }
        t.add(new TensorRule("self_attention.linear_proj.weight", Scope.LAYER, Split.COLUMNS, new Rename(l + "self_attn.o_proj.weight")));
        if (a.linearBias())
            t.add(new TensorRule("self_attention.linear_proj.bias", Scope.LAYER, Split.REPLICATED, new Rename(l + "self_attn.o_proj.bias")));
        t.add(new TensorRule("mlp.linear_fc1.layer_norm_weight", Scope.LAYER, Split.REPLICATED, new Rename(l + "post_attention_layernorm.weight")));
        if (m.isMoe()) {
            String x = l + "block_sparse_moe.";
            t.add(new TensorRule("mlp.router.weight", Scope.LAYER, Split.REPLICATED, new Rename(x + "gate.weight")));
            t.add(new TensorRule("mlp.experts.experts.linear_fc1.weight", Scope.EXPERT, Split.GLU,
                    new GluMerge(x + "experts.{e}.w1.weight", x + "experts.{e}.w3.weight")));
            t.add(new TensorRule("mlp.experts.experts.linear_fc2.weight", Scope.EXPERT, Split.COLUMNS, new Rename(x + "experts.{e}.w2.weight")));
        } else {
            t.add(new TensorRule("mlp.linear_fc1.weight", Scope.LAYER, Split.GLU, new GluMerge(l + "mlp.gate_proj.weight", l + "mlp.up_proj.weight")));
            if (m.mlp().bias())
                t.add(new TensorRule("mlp.linear_fc1.bias", Scope.LAYER, Split.GLU, new GluMerge(l + "mlp.gate_proj.bias", l + "mlp.up_proj.bias")));
            t.add(new TensorRule("mlp.linear_fc2.weight", Scope.LAYER, Split.COLUMNS, new Rename(l + "mlp.down_proj.weight")));
            if (m.mlp().bias())
                t.add(new TensorRule("mlp.linear_fc2.bias", Scope.LAYER, Split.REPLICATED, new Rename(l + "mlp.down_proj.bias")));
        }
        t.add(new TensorRule("decoder.final_layernorm.weight", Scope.LAST_STAGE, Split.REPLICATED, new Rename("model.norm.weight")));
        if (!m.vocab().tied())
            t.add(new TensorRule("output_layer.weight", Scope.LAST_STAGE, Split.ROWS, new VocabPad("lm_head.weight", m.vocab().size(), m.vocab().padded())));
        return t;
    }

    // ---- GPT-2 ----

    static MegatronModel gpt2Config(HfConfig c, Long tp) {
        long hidden = c.requireLong("n_embd"), heads = c.requireLong("n_head");
        if (hidden % heads != 0) throw c.refuse("n_embd " + hidden + " is not a multiple of n_head " + heads);
        String act = c.get("activation_function").map(String::valueOf).orElse("gelu_new");
        String mcoreAct = switch (act) {
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> "gelu_tanh";
            case "gelu" -> "gelu";
            default -> throw c.refuse("activation_function '" + InputText.excerpt(act) + "' has no Megatron equivalent");
        };
        if (c.flag("scale_attn_by_inverse_layer_idx", false) || c.flag("reorder_and_upcast_attn", false))
            throw c.refuse("scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn change attention; Megatron has no equivalent");
        if (!c.flag("scale_attn_weights", true)) throw c.refuse("scale_attn_weights=false has no Megatron equivalent");
        long vocab = c.requireLong("vocab_size");
        return MegatronModel.builder().family("gpt2").layers(c.requireLong("n_layer")).hidden(hidden)
                .attention(new Attention(heads, heads, hidden / heads, true, true, false, null))
                .mlp(new Mlp(c.optLong("n_inner").orElse(4 * hidden), mcoreAct, true))
                .norm(new Norm("LayerNorm", c.optDouble("layer_norm_epsilon").orElse(1e-5)))
                .positions(new Positions(null, null, null, c.requireLong("n_positions", "n_ctx")))
                .vocab(new Vocab(vocab, Vocab.padded(vocab, MAKE_VOCAB_SIZE_DIVISIBLE_BY, tp), c.flag("tie_word_embeddings", true)))
                .dtype(c.dtype().orElse(DType.FLOAT32))
                .initStd(c.optDouble("initializer_range").orElse(null))
                .build();
    }

    static List<TensorRule> gpt2Table(MegatronModel m) {
        List<TensorRule> t = new ArrayList<>();
        String l = "transformer.h.{i}.";
        long heads = m.attention().heads(), d = m.attention().headDim();
        t.add(new TensorRule("embedding.word_embeddings.weight", Scope.FIRST_STAGE, Split.ROWS, new VocabPad("transformer.wte.weight", m.vocab().size(), m.vocab().padded())));
        t.add(new TensorRule("embedding.position_embeddings.weight", Scope.FIRST_STAGE, Split.REPLICATED, new Rename("transformer.wpe.weight")));
        t.add(new TensorRule("self_attention.linear_qkv.layer_norm_weight", Scope.LAYER, Split.REPLICATED, new Rename(l + "ln_1.weight")));
        t.add(new TensorRule("self_attention.linear_qkv.layer_norm_bias", Scope.LAYER, Split.REPLICATED, new Rename(l + "ln_1.bias")));
        t.add(new TensorRule("self_attention.linear_qkv.weight", Scope.LAYER, Split.ROWS, new FusedQkv(l + "attn.c_attn.weight", heads, d, true)));
        t.add(new TensorRule("self_attention.linear_qkv.bias", Scope.LAYER, Split.ROWS, new FusedQkv(l + "attn.c_attn.bias", heads, d, false)));
        t.add(new TensorRule("self_attention.linear_proj.weight", Scope.LAYER, Split.COLUMNS, new Transpose(l + "attn.c_proj.weight")));
        t.add(new TensorRule("self_attention.linear_proj.bias", Scope.LAYER, Split.REPLICATED, new Rename(l + "attn.c_proj.bias")));
        t.add(new TensorRule("mlp.linear_fc1.layer_norm_weight", Scope.LAYER, Split.REPLICATED, new Rename(l + "ln_2.weight")));
        t.add(new TensorRule("mlp.linear_fc1.layer_norm_bias", Scope.LAYER, Split.REPLICATED, new Rename(l + "ln_2.bias")));
        t.add(new TensorRule("mlp.linear_fc1.weight", Scope.LAYER, Split.ROWS, new Transpose(l + "mlp.c_fc.weight")));
        t.add(new TensorRule("mlp.linear_fc1.bias", Scope.LAYER, Split.ROWS, new Rename(l + "mlp.c_fc.bias")));
        t.add(new TensorRule("mlp.linear_fc2.weight", Scope.LAYER, Split.COLUMNS, new Transpose(l + "mlp.c_proj.weight")));
        t.add(new TensorRule("mlp.linear_fc2.bias", Scope.LAYER, Split.REPLICATED, new Rename(l + "mlp.c_proj.bias")));
        t.add(new TensorRule("decoder.final_layernorm.weight", Scope.LAST_STAGE, Split.REPLICATED, new Rename("transformer.ln_f.weight")));
        t.add(new TensorRule("decoder.final_layernorm.bias", Scope.LAST_STAGE, Split.REPLICATED, new Rename("transformer.ln_f.bias")));
        if (!m.vocab().tied())
            t.add(new TensorRule("output_layer.weight", Scope.LAST_STAGE, Split.ROWS, new VocabPad("lm_head.weight", m.vocab().size(), m.vocab().padded())));
        return t;
    }
}
