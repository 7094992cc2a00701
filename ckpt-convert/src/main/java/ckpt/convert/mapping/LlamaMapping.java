package ckpt.convert.mapping;

import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.TensorSlice;
import ckpt.format.FormatException;
import ckpt.format.megatron.ModelConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Llama 2/3 (MAPPING.md §3.1): RMSNorm, SwiGLU, RoPE, GQA, tied or untied, optional linear biases. The layer is
 * built from hooks — {@link #attention}, {@link #mlp}, {@link #addConfig} — so Llama-like families (Mistral,
 * Qwen2/3, Mixtral) override only what differs.
 */
public class LlamaMapping extends HfMapping {
    /** Input norm: TE-fused name first (what torch_dist stores, also for local spec), then the local-spec name. */
    protected static final String[] INPUT_NORM = {"self_attention.linear_qkv.layer_norm_weight", "input_layernorm.weight"};
    protected static final String[] PRE_MLP_NORM = {"mlp.linear_fc1.layer_norm_weight", "pre_mlp_layernorm.weight"};

    @Override
    public String name() {
        return "llama";
    }

    @Override
    public String architecture() {
        return "LlamaForCausalLM";
    }

    @Override
    public String modelType() {
        return "llama";
    }

    @Override
    public List<String> mismatches(MappingContext ctx) {
        List<String> out = commonMismatches(ctx);
        ModelConfig c = ctx.config();
        if (!"RMSNorm".equals(c.normalization())) out.add(c.normalization() + " normalization (needs RMSNorm)");
        if (!"swiglu".equals(c.activation())) out.add(c.activation() + " activation (needs SwiGLU)");
        if (!"rope".equals(c.positionEmbeddingType())) out.add(c.positionEmbeddingType() + " position embeddings (needs RoPE)");
        if (c.rotaryPercent() != null && c.rotaryPercent() < 1.0) out.add("partial rotary embeddings (rotary_percent=" + c.rotaryPercent() + ")");
        if (!allowsSlidingWindow() && ctx.windowSize().isPresent()) out.add("sliding-window attention (window_size=" + ctx.windowSize().get() + ")");
        attentionMismatches(ctx, out);
        mlpMismatches(ctx, out);
        return out;
    }

    /** Llama attention: no q/k norm; linear biases all or none (HF's single {@code attention_bias}). */
    protected void attentionMismatches(MappingContext ctx, List<String> out) {
        if (ctx.config().qkLayernorm()) out.add("q/k layernorm");
        if (qkvBiasOnly(ctx)) out.add("QKV bias without other linear biases (Qwen2-style)");
    }

    /** Llama MLP: dense SwiGLU. */
    protected void mlpMismatches(MappingContext ctx, List<String> out) {
        ModelConfig c = ctx.config();
        if (c.isMoe()) out.add("mixture of experts (num_experts=" + c.numExperts() + ")");
    }

    /** Mistral's difference from Llama. */
    protected boolean allowsSlidingWindow() {
        return false;
    }

    protected static boolean qkvBiasOnly(MappingContext ctx) {
        return ctx.config().addQkvBias() && !ctx.config().addBiasLinear();
    }

    @Override
    public List<OutputTensor> tensors(MappingContext ctx) {
        MegatronSource src = ctx.source();
        List<OutputTensor> out = new ArrayList<>();
        out.add(OutputTensor.of("model.embed_tokens.weight", vocabRows(ctx, src.require("embedding.word_embeddings.weight"))));
        for (long i = 0; i < ctx.config().numLayers(); i++) {
            String p = "model.layers." + i + ".";
            out.add(OutputTensor.of(p + "input_layernorm.weight", src.requireLayer(i, INPUT_NORM)));
            attention(ctx, i, p + "self_attn.", out);
            out.add(OutputTensor.of(p + "post_attention_layernorm.weight", src.requireLayer(i, PRE_MLP_NORM)));
            mlp(ctx, i, p + mlpModule(), out);
        }
        out.add(OutputTensor.of("model.norm.weight", src.require("decoder.final_layernorm.weight")));
        lmHead(ctx, "lm_head.weight").ifPresent(out::add);
        return out;
    }

    /** Which linears of a family carry biases: q/k/v, o_proj, the dense MLP. */
    protected record Biases(boolean qkv, boolean outputProjection, boolean mlp) {
        public static final Biases NONE = new Biases(false, false, false);
    }

    /**
     * The family's biases. Llama follows the checkpoint ({@code attention_bias}, {@code mlp_bias}); families with a
     * fixed answer override this, so a bias they cannot hold is never looked up and the conversion fails on it as an
     * unmapped weight instead of dropping it.
     */
    protected Biases biases(MappingContext ctx) {
        MegatronSource src = ctx.source();
        return new Biases(src.hasLayer("self_attention.linear_qkv.bias"), src.hasLayer("self_attention.linear_proj.bias"),
                src.hasLayer("mlp.linear_fc1.bias"));
    }

    /** HF module name of a layer's MLP block. */
    protected String mlpModule() {
        return "mlp.";
    }

    /** q/k/v split per query group (weights and, when the family has them, biases), then o_proj. */
    protected void attention(MappingContext ctx, long i, String p, List<OutputTensor> out) {
        ModelConfig c = ctx.config();
        MegatronSource src = ctx.source();
        QkvSplit w = QkvSplit.of(src.requireLayer(i, "self_attention.linear_qkv.weight"), c.numAttentionHeads(), c.numQueryGroups(), c.kvChannels());
        checkColumns(ctx, w.q().getFirst(), c.hiddenSize());
        Optional<QkvSplit> b = biases(ctx).qkv()
                ? Optional.of(QkvSplit.of(src.requireLayer(i, "self_attention.linear_qkv.bias"), c.numAttentionHeads(), c.numQueryGroups(), c.kvChannels()))
                : Optional.empty();
        out.add(OutputTensor.concat(p + "q_proj.weight", w.q()));
        b.ifPresent(s -> out.add(OutputTensor.concat(p + "q_proj.bias", s.q())));
        out.add(OutputTensor.concat(p + "k_proj.weight", w.k()));
        b.ifPresent(s -> out.add(OutputTensor.concat(p + "k_proj.bias", s.k())));
        out.add(OutputTensor.concat(p + "v_proj.weight", w.v()));
        b.ifPresent(s -> out.add(OutputTensor.concat(p + "v_proj.bias", s.v())));
        out.add(OutputTensor.of(p + "o_proj.weight", src.requireLayer(i, "self_attention.linear_proj.weight")));
        if (biases(ctx).outputProjection()) out.add(OutputTensor.of(p + "o_proj.bias", src.requireLayer(i, "self_attention.linear_proj.bias")));
    }

    /** SwiGLU: fc1 {@code [gate; up]} split in halves (MAPPING.md §2.2), fc2 as down_proj. */
    protected void mlp(MappingContext ctx, long i, String p, List<OutputTensor> out) {
        MegatronSource src = ctx.source();
        long f = ctx.config().ffnHiddenSize();
        TensorSlice fc1 = checkGlu(ctx, src.requireLayer(i, "mlp.linear_fc1.weight"), f);
        out.add(OutputTensor.of(p + "gate_proj.weight", fc1.rows(0, f)));
        out.add(OutputTensor.of(p + "up_proj.weight", fc1.rows(f, f)));
        boolean bias = biases(ctx).mlp();
        if (bias) {
            TensorSlice t = src.requireLayer(i, "mlp.linear_fc1.bias");
            out.add(OutputTensor.of(p + "gate_proj.bias", t.rows(0, f)));
            out.add(OutputTensor.of(p + "up_proj.bias", t.rows(f, f)));
        }
        out.add(OutputTensor.of(p + "down_proj.weight", src.requireLayer(i, "mlp.linear_fc2.weight")));
        if (bias) out.add(OutputTensor.of(p + "down_proj.bias", src.requireLayer(i, "mlp.linear_fc2.bias")));
    }

    /** A GLU fc1 must hold {@code [gate; up]}: {@code 2·f} rows. */
    protected static TensorSlice checkGlu(MappingContext ctx, TensorSlice fc1, long f) {
        if (fc1.rank() != 2 || fc1.dim(0) != 2 * f)
            throw FormatException.atKey(ctx.index().path(), fc1.key(), "SwiGLU linear_fc1 of shape "
                    + Arrays.toString(fc1.shape()) + " does not have 2 × ffn size " + f + " rows");
        return fc1;
    }

    protected static void checkColumns(MappingContext ctx, TensorSlice t, long hidden) {
        if (t.rank() != 2 || t.dim(1) != hidden)
            throw FormatException.atKey(ctx.index().path(), t.key(), "has " + (t.rank() == 2 ? t.dim(1) : -1)
                    + " columns, expected hidden_size " + hidden);
    }

    @Override
    public Map<String, Object> config(MappingContext ctx) {
        ModelConfig c = ctx.config();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architectures", List.of(architecture()));
        m.put("model_type", modelType());
        m.put("vocab_size", ctx.vocabSize());
        m.put("hidden_size", c.hiddenSize());
        m.put("intermediate_size", c.ffnHiddenSize());
        m.put("num_hidden_layers", c.numLayers());
        m.put("num_attention_heads", c.numAttentionHeads());
        m.put("num_key_value_heads", c.numQueryGroups());
        m.put("head_dim", c.kvChannels());
        m.put("hidden_act", "silu");
        m.put("max_position_embeddings", c.maxPositionEmbeddings() != null ? c.maxPositionEmbeddings() : c.seqLength());
        ctx.arg("init_method_std").filter(Double.class::isInstance).ifPresent(v -> m.put("initializer_range", v));
        m.put("rms_norm_eps", c.normEpsilon());
        m.put("rope_theta", c.rotaryBase() != null ? c.rotaryBase() : 10000.0);
        m.put("rope_scaling", ropeScaling(ctx));
        m.put("attention_bias", biases(ctx).qkv());
        m.put("attention_dropout", 0.0);
        m.put("mlp_bias", biases(ctx).mlp());
        m.put("tie_word_embeddings", tied(ctx));
        m.put("torch_dtype", torchDtype(ctx.weightDtype()));
        m.put("use_cache", true);
        addConfig(ctx, m);
        return m;
    }

    /** Family-specific config fields. */
    protected void addConfig(MappingContext ctx, Map<String, Object> config) {
    }

    /** Llama-3 scaling (mcore hard-codes 1/4/8192) or linear interpolation; null for plain RoPE (MAPPING.md §4.1). */
    protected static Map<String, Object> ropeScaling(MappingContext ctx) {
        ModelConfig c = ctx.config();
        if (c.ropeScaling()) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("rope_type", "llama3");
            r.put("factor", c.ropeScalingFactor() != null ? c.ropeScalingFactor() : 8.0);
            r.put("low_freq_factor", 1.0);
            r.put("high_freq_factor", 4.0);
            r.put("original_max_position_embeddings", 8192);
            return r;
        }
        Optional<Object> interp = ctx.arg("rotary_seq_len_interpolation_factor");
        if (interp.isPresent() && interp.get() instanceof Number f && f.doubleValue() != 1.0) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("rope_type", "linear");
            r.put("factor", f.doubleValue());
            return r;
        }
        return null;
    }
}
