package ckpt.convert.mapping;

import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.TensorSlice;
import ckpt.format.megatron.ModelConfig;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GPT-2 (MAPPING.md §3.3): learned absolute positions, LayerNorm with biases, biases everywhere, GELU, usually
 * tied embeddings. HF's Conv1D stores {@code [in, out]}, so every linear weight is transposed; the fused
 * {@code c_attn} is {@code [q; k; v]} over all heads where mcore interleaves per head, hence the QKV split
 * (MAPPING.md §2.1, §2.5) with {@code g = n} before the transpose.
 */
public class Gpt2Mapping extends HfMapping {
    private static final String[] INPUT_NORM_W = {"self_attention.linear_qkv.layer_norm_weight", "input_layernorm.weight"};
    private static final String[] INPUT_NORM_B = {"self_attention.linear_qkv.layer_norm_bias", "input_layernorm.bias"};
    private static final String[] PRE_MLP_NORM_W = {"mlp.linear_fc1.layer_norm_weight", "pre_mlp_layernorm.weight"};
    private static final String[] PRE_MLP_NORM_B = {"mlp.linear_fc1.layer_norm_bias", "pre_mlp_layernorm.bias"};

    @Override
    public String name() {
        return "gpt2";
    }

    @Override
    public String architecture() {
        return "GPT2LMHeadModel";
    }

    @Override
    public String modelType() {
        return "gpt2";
    }

    @Override
    public List<String> mismatches(MappingContext ctx) {
        List<String> out = commonMismatches(ctx);
        ModelConfig c = ctx.config();
        if (c.isMoe()) out.add("mixture of experts (num_experts=" + c.numExperts() + ")");
        if (c.qkLayernorm()) out.add("q/k layernorm");
        if (!"LayerNorm".equals(c.normalization())) out.add(c.normalization() + " normalization (needs LayerNorm)");
        if (c.gatedLinearUnit() || !("gelu".equals(c.activation()) || "openai_gelu".equals(c.activation())))
            out.add(c.activation() + " activation (needs GELU)");
        if (!"learned_absolute".equals(c.positionEmbeddingType())) out.add(c.positionEmbeddingType() + " position embeddings (needs learned absolute)");
        if (c.numQueryGroups() != c.numAttentionHeads()) out.add("grouped-query attention (" + c.numQueryGroups() + " groups)");
        if (c.kvChannels() * c.numAttentionHeads() != c.hiddenSize()) out.add("head dim " + c.kvChannels() + " ≠ hidden / heads");
        if (!c.addBiasLinear()) out.add("linear layers without biases");
        if (ctx.windowSize().isPresent()) out.add("sliding-window attention");
        return out;
    }

    /**
     * {@code gelu_new} (tanh approximation) when Megatron computed GELU that way — its fused bias-GELU kernel (only
     * used with linear biases) or {@code --openai-gelu}; plain {@code F.gelu} is erf: {@code gelu}.
     */
    static String activationFunction(MappingContext ctx) {
        ModelConfig c = ctx.config();
        boolean fused = c.biasGeluFusion() || ctx.flag("bias_activation_fusion");
        return "openai_gelu".equals(c.activation()) || (fused && c.addBiasLinear()) ? "gelu_new" : "gelu";
    }

    @Override
    public List<OutputTensor> tensors(MappingContext ctx) {
        ModelConfig c = ctx.config();
        MegatronSource src = ctx.source();
        List<OutputTensor> out = new ArrayList<>();
        out.add(OutputTensor.of("transformer.wte.weight", vocabRows(ctx, src.require("embedding.word_embeddings.weight"))));
        out.add(OutputTensor.of("transformer.wpe.weight", src.require("embedding.position_embeddings.weight")));
        long n = c.numAttentionHeads(), d = c.kvChannels();
        for (long i = 0; i < c.numLayers(); i++) {
            String p = "transformer.h." + i + ".";
            out.add(OutputTensor.of(p + "ln_1.weight", src.requireLayer(i, INPUT_NORM_W)));
            out.add(OutputTensor.of(p + "ln_1.bias", src.requireLayer(i, INPUT_NORM_B)));
            TensorSlice qkv = src.requireLayer(i, "self_attention.linear_qkv.weight");
            LlamaMapping.checkColumns(ctx, qkv, c.hiddenSize());
            out.add(OutputTensor.transposed(p + "attn.c_attn.weight", QkvSplit.of(qkv, n, n, d).concatenated()));
            out.add(OutputTensor.concat(p + "attn.c_attn.bias",
                    QkvSplit.of(src.requireLayer(i, "self_attention.linear_qkv.bias"), n, n, d).concatenated()));
            out.add(OutputTensor.transposed(p + "attn.c_proj.weight", List.of(src.requireLayer(i, "self_attention.linear_proj.weight"))));
            out.add(OutputTensor.of(p + "attn.c_proj.bias", src.requireLayer(i, "self_attention.linear_proj.bias")));
            out.add(OutputTensor.of(p + "ln_2.weight", src.requireLayer(i, PRE_MLP_NORM_W)));
            out.add(OutputTensor.of(p + "ln_2.bias", src.requireLayer(i, PRE_MLP_NORM_B)));
            out.add(OutputTensor.transposed(p + "mlp.c_fc.weight", List.of(src.requireLayer(i, "mlp.linear_fc1.weight"))));
            out.add(OutputTensor.of(p + "mlp.c_fc.bias", src.requireLayer(i, "mlp.linear_fc1.bias")));
            out.add(OutputTensor.transposed(p + "mlp.c_proj.weight", List.of(src.requireLayer(i, "mlp.linear_fc2.weight"))));
            out.add(OutputTensor.of(p + "mlp.c_proj.bias", src.requireLayer(i, "mlp.linear_fc2.bias")));
        }
        out.add(OutputTensor.of("transformer.ln_f.weight", src.require("decoder.final_layernorm.weight")));
        out.add(OutputTensor.of("transformer.ln_f.bias", src.require("decoder.final_layernorm.bias")));
        lmHead(ctx, "lm_head.weight").ifPresent(out::add);
        return out;
    }

    @Override
    public Map<String, Object> config(MappingContext ctx) {
        ModelConfig c = ctx.config();
        long positions = ctx.source().peek("embedding.position_embeddings.weight").map(t -> t.dim(0))
                .orElse(c.maxPositionEmbeddings() != null ? c.maxPositionEmbeddings() : c.seqLength());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architectures", List.of(architecture()));
        m.put("model_type", modelType());
        m.put("vocab_size", ctx.vocabSize());
        m.put("n_embd", c.hiddenSize());
        m.put("n_layer", c.numLayers());
        m.put("n_head", c.numAttentionHeads());
        m.put("n_inner", c.ffnHiddenSize());
        m.put("n_positions", positions);
        m.put("n_ctx", positions);
        m.put("layer_norm_epsilon", c.normEpsilon());
        m.put("activation_function", activationFunction(ctx));
        ctx.arg("init_method_std").filter(Double.class::isInstance).ifPresent(v -> m.put("initializer_range", v));
        m.put("resid_pdrop", 0.0);
        m.put("embd_pdrop", 0.0);
        m.put("attn_pdrop", 0.0);
        m.put("scale_attn_weights", true);
        m.put("tie_word_embeddings", tied(ctx));
        m.put("torch_dtype", torchDtype(ctx.weightDtype()));
        m.put("use_cache", true);
        return m;
    }
}
