package ckpt.convert.mapping;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.TensorSlice;
import ckpt.format.FormatException;
import ckpt.format.megatron.ModelConfig;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code --format pytorch} for Megatron: every model weight under the module name the live mcore model uses
 * ({@code model.state_dict()} keys). Stacked layers are un-stacked ({@code decoder.layers.X} {@code [L, …]} →
 * {@code decoder.layers.{i}.X}), stacked experts become sequential-MLP names
 * ({@code decoder.layers.{i}.mlp.experts.local_experts.{e}.X}), and for {@code --transformer-impl local} the
 * TE-fused norm names torch_dist stores are mapped back to the local modules ({@code input_layernorm},
 * {@code pre_mlp_layernorm}; FORMATS.md §8). No optimizer state, no {@code _extra_state}.
 */
public final class MegatronModuleNames {
    private static final Pattern LAYER_NUMBER = Pattern.compile("decoder\\.layers\\.(\\d{1,18})(?:\\..*)?", Pattern.DOTALL);
    private static final Pattern OWN_LAYER_EXPERTS = Pattern.compile("decoder\\.layers\\.(\\d{1,18})\\.(.*)mlp\\.experts\\.experts\\.(.+)");
    private static final Map<String, String> LOCAL_NORMS = Map.of(
            "self_attention.linear_qkv.layer_norm_weight", "input_layernorm.weight",
            "self_attention.linear_qkv.layer_norm_bias", "input_layernorm.bias",
            "mlp.linear_fc1.layer_norm_weight", "pre_mlp_layernorm.weight",
            "mlp.linear_fc1.layer_norm_bias", "pre_mlp_layernorm.bias");

    private MegatronModuleNames() {
    }

    private record Named(int group, long layer, int order, OutputTensor tensor) {
    }

    public static List<OutputTensor> tensors(CheckpointIndex index, ModelConfig config) {
        MegatronSource src = new MegatronSource(index, config.numLayers());
        boolean local = "local".equals(index.args().get("transformer_impl"));
        List<Named> out = new ArrayList<>();
        int order = 0;
        for (String name : src.names()) {
            if (name.contains("_extra_state")) continue;
            TensorSlice whole = src.require(name);
            order++;
            if (name.startsWith("decoder.layers.") && isStacked(name, "decoder.layers.")) {
                String rest = name.substring("decoder.layers.".length());
                if (whole.rank() == 0 || whole.dim(0) != config.numLayers())
                    throw FormatException.atKey(index.path(), name, "stacked layer tensor does not have num_layers="
                            + config.numLayers() + " on its first axis");
                for (long i = 0; i < whole.dim(0); i++)
                    addLayer(out, 1, i, order, "decoder.layers." + i + ".", rest, whole.index(i), local);
            } else if (name.startsWith("mtp.layers.") && isStacked(name, "mtp.layers.")) {
                String rest = name.substring("mtp.layers.".length());
                for (long i = 0; i < whole.dim(0); i++)
                    addLayer(out, 2, i, order, "mtp.layers." + i + ".", rest, whole.index(i), false);
            } else {
                Matcher m = OWN_LAYER_EXPERTS.matcher(name);
                if (m.matches()) {
                    long i = Long.parseLong(m.group(1));
                    addLayer(out, 1, i, order, "decoder.layers." + i + ".", m.group(2) + "mlp.experts.experts." + m.group(3), whole, local);
                } else {
                    long number = layerNumber(name); // -1 unless decoder.layers.<digits>[.…]
                    int group = name.startsWith("embedding.") ? 0 : number >= 0 ? 1 : 3;
                    long layer = Math.max(number, 0);
                    String renamed = name;
                    if (group == 1 && local) {
                        String prefix = "decoder.layers." + layer + ".";
                        renamed = prefix + LOCAL_NORMS.getOrDefault(name.substring(prefix.length()), name.substring(prefix.length()));
                    }
                    out.add(new Named(group, layer, order, OutputTensor.of(renamed, whole)));
                }
            }
        }
        out.sort(Comparator.comparingInt(Named::group).thenComparingLong(Named::layer).thenComparingInt(Named::order));
        return out.stream().map(Named::tensor).toList();
    }

    /**
     * The local spec's module name of a layer tensor {@code torch_dist} stores under its TE-fused name
     * ({@code self_attention.linear_qkv.layer_norm_weight} → {@code input_layernorm.weight}; MAPPING.md §1.1), if any.
     */
    public static Optional<String> localSpecName(String layerKey) {
        return Optional.ofNullable(LOCAL_NORMS.get(layerKey));
    }

    /** The N of {@code decoder.layers.N} or {@code decoder.layers.N.…} (at most 18 digits), else -1. */
    static long layerNumber(String name) {
        Matcher m = LAYER_NUMBER.matcher(name);
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    private static boolean isStacked(String name, String prefix) {
        return name.length() > prefix.length() && !Character.isDigit(name.charAt(prefix.length()));
    }

    /** One layer's slice; an experts tensor ({@code [E, …]} after the layer axis) becomes one tensor per expert. */
    private static void addLayer(List<Named> out, int group, long layer, int order, String prefix, String rest,
                                 TensorSlice slice, boolean local) {
        int at = rest.indexOf("mlp.experts.experts.");
        if (at >= 0) {
            String head = rest.substring(0, at) + "mlp.experts.local_experts.";
            String tail = rest.substring(at + "mlp.experts.experts.".length());
            for (long e = 0; e < slice.dim(0); e++)
                out.add(new Named(group, layer, order, OutputTensor.of(prefix + head + e + "." + tail, slice.index(e))));
            return;
        }
        String name = local ? LOCAL_NORMS.getOrDefault(rest, rest) : rest;
        out.add(new Named(group, layer, order, OutputTensor.of(prefix + name, slice)));
    }

    /**
     * The architecture args a reader needs to rebuild the model (issue: num_layers … biases), as plain values.
     * Effective values (query groups, kv_channels, ffn size) come from {@link ModelConfig}, which applies Megatron's
     * defaults.
     */
    public static Map<String, Object> modelConfig(CheckpointIndex index, ModelConfig c) {
        Map<String, Object> a = index.args();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("num_layers", c.numLayers());
        m.put("hidden_size", c.hiddenSize());
        m.put("ffn_hidden_size", c.ffnHiddenSize());
        m.put("num_attention_heads", c.numAttentionHeads());
        m.put("group_query_attention", Boolean.TRUE.equals(a.get("group_query_attention")));
        m.put("num_query_groups", c.numQueryGroups());
        m.put("kv_channels", c.kvChannels());
        m.put("vocab_size", c.vocabSize());
        m.put("padded_vocab_size", c.paddedVocabSize());
        m.put("max_position_embeddings", c.maxPositionEmbeddings());
        m.put("seq_length", c.seqLength());
        m.put("normalization", c.normalization());
        m.put("norm_epsilon", c.normEpsilon());
        m.put("position_embedding_type", c.positionEmbeddingType());
        m.put("rotary_base", c.rotaryBase());
        m.put("rotary_percent", c.rotaryPercent());
        m.put("rotary_interleaved", Boolean.TRUE.equals(a.get("rotary_interleaved")));
        m.put("use_rope_scaling", c.ropeScaling());
        m.put("rope_scaling_factor", c.ropeScalingFactor());
        m.put("swiglu", "swiglu".equals(c.activation()));
        m.put("activation", c.activation());
        m.put("gated_linear_unit", c.gatedLinearUnit());
        m.put("untie_embeddings_and_output_weights", !c.tiedEmbeddings());
        m.put("share_embeddings_and_output_weights", c.tiedEmbeddings());
        m.put("add_bias_linear", c.addBiasLinear());
        m.put("add_qkv_bias", c.addQkvBias());
        m.put("qk_layernorm", c.qkLayernorm());
        m.put("num_experts", c.numExperts());
        m.put("moe_router_topk", c.isMoe() ? c.moeRouterTopk() : null);
        m.put("moe_ffn_hidden_size", c.moeFfnHiddenSize());
        m.put("moe_shared_expert_intermediate_size", c.moeSharedExpertIntermediateSize());
        m.put("multi_latent_attention", c.multiLatentAttention());
        m.put("transformer_impl", a.get("transformer_impl") instanceof String s ? s : null);
        m.put("params_dtype", c.paramsDtype() == null ? null : c.paramsDtype().torchName());
        m.put("make_vocab_size_divisible_by", c.makeVocabSizeDivisibleBy());
        m.put("tokenizer_type", c.tokenizerType());
        m.put("iteration", index.iteration());
        return m;
    }
}
