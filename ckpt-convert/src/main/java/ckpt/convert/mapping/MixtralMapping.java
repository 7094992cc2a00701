package ckpt.convert.mapping;

import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.TensorSlice;
import ckpt.format.FormatException;
import ckpt.format.megatron.ModelConfig;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Mixtral (MAPPING.md §3.4): Mistral attention (no biases, optional causal window) and, in every layer, a routed
 * MoE of SwiGLU experts with softmax top-k routing renormalized over the chosen experts — which is what Megatron's
 * default router (top-k on logits, then softmax) computes. Experts are slices of the stacked
 * {@code mlp.experts.experts.linear_fc{1,2}.weight} {@code [L, E, …]} (or per layer {@code [E, …]}); the expert axis
 * is global also for checkpoints saved with expert parallelism. Written with the per-expert names the Hub uses
 * ({@code block_sparse_moe.experts.{e}.w1/w2/w3}).
 *
 * <p>Megatron MoE features Mixtral has no place for (shared experts, expert bias, dense layers between MoE layers,
 * grouped or sigmoid routing, MLA) are refused by name.
 */
public class MixtralMapping extends MistralMapping {
    /** Expert tensors this mapping reads; any other expert key is a layout it does not know. */
    private static final Pattern EXPERT_KEY = Pattern.compile("decoder\\.layers\\.(\\d+\\.)?mlp\\.experts\\.experts\\.linear_fc[12]\\.weight");

    @Override
    public String name() {
        return "mixtral";
    }

    @Override
    public String architecture() {
        return "MixtralForCausalLM";
    }

    @Override
    public String modelType() {
        return "mixtral";
    }

    @Override
    protected void attentionMismatches(MappingContext ctx, List<String> out) {
        if (ctx.config().qkLayernorm()) out.add("q/k layernorm");
        if (ctx.config().addQkvBias()) out.add("linear biases (Mixtral has none)");
    }

    @Override
    protected void mlpMismatches(MappingContext ctx, List<String> out) {
        ModelConfig c = ctx.config();
        if (!c.isMoe()) {
            out.add("no mixture of experts (num_experts)");
            return;
        }
        if (c.moeRouterTopk() == null || c.moeRouterTopk() < 1 || c.moeRouterTopk() > c.numExperts())
            out.add("no valid moe_router_topk (" + c.moeRouterTopk() + ")");
        if (c.moeSharedExpertIntermediateSize() != null || ctx.source().names().stream().anyMatch(n -> n.contains(".shared_experts.")))
            out.add("shared experts (moe_shared_expert_intermediate_size=" + c.moeSharedExpertIntermediateSize() + ")");
        if (ctx.flag("moe_router_enable_expert_bias") || ctx.source().names().stream().anyMatch(n -> n.endsWith("router.expert_bias")))
            out.add("router expert bias (moe_router_enable_expert_bias)");
        if (!everyLayerIsMoe(c)) out.add("dense layers between MoE layers (moe_layer_freq=" + c.moeLayerFreq() + ")");
        ctx.arg("moe_router_score_function").filter(v -> !"softmax".equals(v)).ifPresent(v -> out.add(v + " router scores (needs softmax)"));
        if (ctx.flag("moe_router_pre_softmax")) out.add("softmax before top-k without renormalization (moe_router_pre_softmax)");
        ctx.arg("moe_router_topk_scaling_factor").filter(v -> !(v instanceof Number n && n.doubleValue() == 1.0))
                .ifPresent(v -> out.add("scaled routing weights (moe_router_topk_scaling_factor=" + v + ")"));
        ctx.arg("moe_router_num_groups").ifPresent(v -> out.add("group-limited routing (moe_router_num_groups=" + v + ")"));
        ctx.arg("moe_latent_size").ifPresent(v -> out.add("latent MoE (moe_latent_size=" + v + ")"));
        ctx.source().names().stream()
                .filter(n -> n.contains(".experts.") && !n.contains(".shared_experts.") && !n.contains("_extra_state") && !EXPERT_KEY.matcher(n).matches())
                .findFirst().ifPresent(n -> out.add("expert weights in a layout ckpt does not map (" + n + "; grouped-GEMM or per-expert keys)"));
    }

    /** {@code moe_layer_freq} 1, or a per-layer pattern of all 1s. */
    static boolean everyLayerIsMoe(ModelConfig c) {
        Object f = c.moeLayerFreq();
        if (f == null) return true; // before the option existed every layer was MoE
        if (f instanceof Long l) return l == 1;
        if (f instanceof List<?> l) return l.size() == c.numLayers() && l.stream().allMatch(x -> Long.valueOf(1).equals(x));
        return false;
    }

    @Override
    protected Biases biases(MappingContext ctx) {
        return Biases.NONE;
    }

    @Override
    protected String mlpModule() {
        return "block_sparse_moe.";
    }

    /** Expert FFN size: {@code moe_ffn_hidden_size}, which Megatron defaults to {@code ffn_hidden_size}. */
    static long expertFfn(ModelConfig c) {
        return c.moeFfnHiddenSize() != null ? c.moeFfnHiddenSize() : c.ffnHiddenSize();
    }

    /** Router → gate; expert {@code e}'s fc1 {@code [gate; up]} → w1, w3; fc2 → w2. */
    @Override
    protected void mlp(MappingContext ctx, long i, String p, List<OutputTensor> out) {
        ModelConfig c = ctx.config();
        MegatronSource src = ctx.source();
        long experts = c.numExperts(), f = expertFfn(c), h = c.hiddenSize();
        out.add(OutputTensor.of(p + "gate.weight", checkShape(ctx, src.requireLayer(i, "mlp.router.weight"), experts, h)));
        checkExpertAxis(ctx, src.requireLayer(i, "mlp.experts.experts.linear_fc1.weight"), experts);
        checkExpertAxis(ctx, src.requireLayer(i, "mlp.experts.experts.linear_fc2.weight"), experts);
        for (long e = 0; e < experts; e++) {
            String x = p + "experts." + e + ".";
            TensorSlice fc1 = checkShape(ctx, src.requireExpert(i, e, "linear_fc1.weight"), 2 * f, h);
            out.add(OutputTensor.of(x + "w1.weight", fc1.rows(0, f)));
            out.add(OutputTensor.of(x + "w2.weight", checkShape(ctx, src.requireExpert(i, e, "linear_fc2.weight"), h, f)));
            out.add(OutputTensor.of(x + "w3.weight", fc1.rows(f, f)));
        }
    }

    private static void checkExpertAxis(MappingContext ctx, TensorSlice t, long experts) {
        if (t.rank() != 3 || t.dim(0) != experts)
            throw FormatException.atKey(ctx.index().path(), t.key(), "experts tensor of layer shape " + Arrays.toString(t.shape())
                    + " does not have num_experts=" + experts + " on its expert axis");
    }

    private static TensorSlice checkShape(MappingContext ctx, TensorSlice t, long rows, long cols) {
        if (t.rank() != 2 || t.dim(0) != rows || t.dim(1) != cols)
            throw FormatException.atKey(ctx.index().path(), t.key(), "has shape " + Arrays.toString(t.shape())
                    + ", expected [" + rows + ", " + cols + "]");
        return t;
    }

    @Override
    public Map<String, Object> config(MappingContext ctx) {
        Map<String, Object> m = super.config(ctx);
        m.remove("attention_bias");
        m.remove("mlp_bias");
        return m;
    }

    @Override
    protected void addConfig(MappingContext ctx, Map<String, Object> config) {
        super.addConfig(ctx, config);
        ModelConfig c = ctx.config();
        config.put("intermediate_size", expertFfn(c));
        config.put("num_local_experts", c.numExperts());
        config.put("num_experts_per_tok", c.moeRouterTopk());
        config.put("router_aux_loss_coef", c.moeAuxLossCoeff() != null ? c.moeAuxLossCoeff() : 0.0);
        config.put("output_router_logits", false);
        config.put("router_jitter_noise", 0.0);
    }
}
