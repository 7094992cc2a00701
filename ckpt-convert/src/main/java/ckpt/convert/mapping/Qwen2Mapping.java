package ckpt.convert.mapping;

import java.util.List;
import java.util.Map;

/**
 * Qwen2 / Qwen2.5 (MAPPING.md §3.2): Llama with biases on q/k/v only ({@code add_qkv_bias} without
 * {@code add_bias_linear}), split per query group like the weight rows. HF's Qwen2 always has those biases and never
 * an o_proj or MLP bias, so the family is chosen by exactly that combination. Small models are tied.
 */
public class Qwen2Mapping extends LlamaMapping {
    @Override
    public String name() {
        return "qwen2";
    }

    @Override
    public String architecture() {
        return "Qwen2ForCausalLM";
    }

    @Override
    public String modelType() {
        return "qwen2";
    }

    @Override
    protected void attentionMismatches(MappingContext ctx, List<String> out) {
        if (ctx.config().qkLayernorm()) out.add("q/k layernorm");
        if (ctx.config().addBiasLinear()) out.add("biases on o_proj and the MLP (add_bias_linear)");
        else if (!ctx.config().addQkvBias()) out.add("no QKV bias (add_qkv_bias)");
    }

    @Override
    protected Biases biases(MappingContext ctx) {
        return new Biases(true, false, false);
    }

    @Override
    public Map<String, Object> config(MappingContext ctx) {
        Map<String, Object> m = super.config(ctx);
        m.remove("attention_bias"); // implicit in Qwen2
        m.remove("mlp_bias");
        return m;
    }

    @Override
    protected void addConfig(MappingContext ctx, Map<String, Object> config) {
        fullAttention(ctx, config);
    }

    /** Qwen's window fields: Megatron windows are refused, so every layer is full attention. */
    static void fullAttention(MappingContext ctx, Map<String, Object> config) {
        config.put("use_sliding_window", false);
        config.put("sliding_window", null);
        config.put("max_window_layers", ctx.config().numLayers());
    }
}
