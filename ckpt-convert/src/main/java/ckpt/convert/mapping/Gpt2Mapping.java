package ckpt.convert.mapping;

import ckpt.convert.mapping.imports.ImportFamilies;
import ckpt.convert.mapping.imports.MegatronModel;
import ckpt.convert.plan.OutputTensor;
import ckpt.format.megatron.ModelConfig;

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

    /** The GPT-2 rule table ({@link ImportFamilies#gpt2Table}) read towards HF, for this checkpoint's model. */
    @Override
    public List<OutputTensor> tensors(MappingContext ctx) {
        return ImportFamilies.GPT2.toHf(model(ctx), ctx.source());
    }

    /**
     * The checkpoint as the model the table is built for: its layers, heads ({@code g = n}, checked by
     * {@link #mismatches}), vocabulary rows to write and stored rows, and whether embeddings are tied.
     */
    static MegatronModel model(MappingContext ctx) {
        ModelConfig c = ctx.config();
        long rows = ctx.source().peek("embedding.word_embeddings.weight").map(t -> t.dim(0)).orElse(ctx.vocabSize());
        return MegatronModel.builder().family("gpt2").layers(c.numLayers()).hidden(c.hiddenSize())
                .attention(new MegatronModel.Attention(c.numAttentionHeads(), c.numAttentionHeads(), c.kvChannels(), true, true, false, null))
                .mlp(new MegatronModel.Mlp(c.ffnHiddenSize(), c.activation(), true))
                .norm(new MegatronModel.Norm(c.normalization(), c.normEpsilon()))
                .vocab(new MegatronModel.Vocab(ctx.vocabSize(), rows, tied(ctx)))
                .dtype(ctx.weightDtype())
                .build();
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
