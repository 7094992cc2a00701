package ckpt.convert.mapping;

import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.TensorSlice;
import ckpt.format.FormatException;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Qwen3 (MAPPING.md §3.2): Llama without any linear bias plus RMSNorm over each head's q and k
 * ({@code q_layernorm}/{@code k_layernorm} → {@code self_attn.q_norm}/{@code k_norm}, shape {@code [head_dim]}).
 * {@code head_dim} is {@code kv_channels}, often ≠ hidden / heads.
 */
public class Qwen3Mapping extends LlamaMapping {
    @Override
    public String name() {
        return "qwen3";
    }

    @Override
    public String architecture() {
        return "Qwen3ForCausalLM";
    }

    @Override
    public String modelType() {
        return "qwen3";
    }

    @Override
    protected void attentionMismatches(MappingContext ctx, List<String> out) {
        if (!ctx.config().qkLayernorm()) out.add("no q/k layernorm (qk_layernorm)");
        if (ctx.config().addQkvBias()) out.add("linear biases (Qwen3 has none)");
    }

    @Override
    protected Biases biases(MappingContext ctx) {
        return Biases.NONE;
    }

    @Override
    protected void attention(MappingContext ctx, long i, String p, List<OutputTensor> out) {
        super.attention(ctx, i, p, out);
        out.add(OutputTensor.of(p + "q_norm.weight", headNorm(ctx, ctx.source().requireLayer(i, "self_attention.q_layernorm.weight"))));
        out.add(OutputTensor.of(p + "k_norm.weight", headNorm(ctx, ctx.source().requireLayer(i, "self_attention.k_layernorm.weight"))));
    }

    /** A per-head norm weight is {@code [head_dim]}. */
    private static TensorSlice headNorm(MappingContext ctx, TensorSlice t) {
        if (t.rank() != 1 || t.dim(0) != ctx.config().kvChannels())
            throw FormatException.atKey(ctx.index().path(), t.key(), "q/k layernorm of shape " + Arrays.toString(t.shape())
                    + " is not [kv_channels=" + ctx.config().kvChannels() + "]");
        return t;
    }

    @Override
    public Map<String, Object> config(MappingContext ctx) {
        Map<String, Object> m = super.config(ctx);
        m.remove("mlp_bias");
        return m;
    }

    @Override
    protected void addConfig(MappingContext ctx, Map<String, Object> config) {
        Qwen2Mapping.fullAttention(ctx, config);
    }
}
