package ckpt.convert.reshard;

import ckpt.convert.index.GlobalTensor;
import ckpt.convert.index.TpSplit;
import ckpt.format.FormatException;
import ckpt.format.megatron.MegatronKeys;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The order in which an mcore GPT model registers its parameters ({@code module.parameters()}), which is the order
 * the distributed optimizer's gradient buffer is built from (reversed; FORMATS.md §4.7). Rebuilt from the
 * checkpoint's own model keys: GPTModel registers the embedding, then the decoder layers, the final norm and the
 * output layer; a TransformerLayer its input norm, self-attention, pre-MLP norm and MLP; Attention its
 * {@code linear_proj} before SelfAttention adds {@code linear_qkv} and the q/k norms; every module its weight before
 * its bias. The local spec keeps the input/pre-MLP norms as modules of their own (saved under
 * {@code linear_qkv.layer_norm_*} / {@code linear_fc1.layer_norm_*}); Transformer Engine fuses them into
 * {@code linear_qkv} / {@code linear_fc1}, registered before their weights.
 */
public final class RegistrationOrder {
    private static final List<String> LOCAL_LAYER = List.of(
            "self_attention.linear_qkv.layer_norm_weight", "self_attention.linear_qkv.layer_norm_bias",
            "self_attention.linear_proj.weight", "self_attention.linear_proj.bias",
            "self_attention.linear_qkv.weight", "self_attention.linear_qkv.bias",
            "self_attention.q_layernorm.weight", "self_attention.q_layernorm.bias",
            "self_attention.k_layernorm.weight", "self_attention.k_layernorm.bias",
            "mlp.linear_fc1.layer_norm_weight", "mlp.linear_fc1.layer_norm_bias",
            "mlp.linear_fc1.weight", "mlp.linear_fc1.bias",
            "mlp.linear_fc2.weight", "mlp.linear_fc2.bias");
    private static final List<String> TE_LAYER = List.of(
            "self_attention.linear_proj.weight", "self_attention.linear_proj.bias",
            "self_attention.linear_qkv.layer_norm_weight", "self_attention.linear_qkv.layer_norm_bias",
            "self_attention.linear_qkv.weight", "self_attention.linear_qkv.bias",
            "self_attention.q_layernorm.weight", "self_attention.q_layernorm.bias",
            "self_attention.k_layernorm.weight", "self_attention.k_layernorm.bias",
            "mlp.linear_fc1.layer_norm_weight", "mlp.linear_fc1.layer_norm_bias",
            "mlp.linear_fc1.weight", "mlp.linear_fc1.bias",
            "mlp.linear_fc2.weight", "mlp.linear_fc2.bias");
    private static final List<String> FIRST = List.of("embedding.word_embeddings.weight", "embedding.position_embeddings.weight");
    private static final List<String> LAST = List.of("decoder.final_layernorm.weight", "decoder.final_layernorm.bias",
            "output_layer.weight", "output_layer.bias");
    static final String LAYERS = "decoder.layers.";

    private RegistrationOrder() {
    }

    /** One parameter of a pipeline stage with how its TP-local tensor sits in the global one. */
    public record Entry(BucketLayout.Param param, TpSplit split, long[] moduleShape) {
    }

    /**
     * The parameters of pipeline stage {@code stage} (of {@code pp}, layers split evenly), as TP rank tensors of a
     * {@code tp}-way split, in registration order.
     *
     * @param model           the model tensors by key (global shapes, layers stacked)
     * @param transformerImpl the saved {@code transformer_impl} arg ({@code local} or {@code transformer_engine})
     * @throws FormatException for a model key ckpt cannot place (MoE, MLA, unknown modules) or a split that does not divide
     */
    public static List<Entry> of(Path file, Map<String, GlobalTensor> model, long layers, boolean glu, boolean tied,
                                 String transformerImpl, int tp, int pp, int stage) {
        List<String> layerOrder = switch (transformerImpl) {
            case "local" -> LOCAL_LAYER;
            case "transformer_engine" -> TE_LAYER;
            default -> throw new FormatException(file, "transformer_impl '" + transformerImpl
                    + "': ckpt knows the parameter order of 'local' and 'transformer_engine' models only");
        };
        Set<String> known = new LinkedHashSet<>(FIRST);
        for (String k : layerOrder) known.add(LAYERS + k);
        known.addAll(LAST);
        for (String k : model.keySet())
            if (!known.contains(k))
                throw new FormatException(file, "model key " + k + " is not part of the dense GPT layouts ckpt can place in the"
                        + " distributed optimizer's buffers (MoE, MLA and other modules are not supported yet)");
        if (layers % pp != 0) throw new FormatException(file, layers + " layers do not split evenly into " + pp + " pipeline stages");
        long perStage = layers / pp;
        List<Entry> out = new ArrayList<>();
        if (stage == 0) for (String k : FIRST) add(out, file, model, k, -1, layers, glu, tp);
        for (long l = stage * perStage; l < (stage + 1) * perStage; l++)
            for (String k : layerOrder) add(out, file, model, LAYERS + k, l, layers, glu, tp);
        if (stage == pp - 1)
            for (String k : LAST) {
                // Tied: at PP=1 the output layer uses the embedding's weight and has no parameter of its own.
                if (k.equals("output_layer.weight") && tied && pp == 1) continue;
                add(out, file, model, k, -1, layers, glu, tp);
            }
        return out;
    }

    private static void add(List<Entry> out, Path file, Map<String, GlobalTensor> model, String key, long layer, long layers,
                            boolean glu, int tp) {
        GlobalTensor t = model.get(key);
        if (t == null) return;
        long[] g = t.shape();
        int lead = layer >= 0 ? 1 : 0;
        if (lead == 1 && (g.length == 0 || g[0] != layers || !MegatronKeys.isStackedLayerKey(key)))
            throw new FormatException(file, key + " " + java.util.Arrays.toString(g) + " is not stacked over the " + layers + " layers");
        long[] module = java.util.Arrays.copyOfRange(g, lead, g.length);
        TpSplit split = TpSplit.forKey(key, glu);
        if (split == null) throw new FormatException(file, "no tensor-parallel rule for " + key);
        long n = ckpt.format.tensor.Shapes.numel(module);
        if (split != TpSplit.REPLICATED) {
            int axis = split.axis();
            long parts = split == TpSplit.GLU_COLUMN ? 2L * tp : tp;
            if (module.length <= axis || module[axis] % parts != 0)
                throw new FormatException(file, key + " " + java.util.Arrays.toString(g) + " does not split into " + parts
                        + " equal parts for TP " + tp);
            n /= tp;
        }
        out.add(new Entry(new BucketLayout.Param(key, (int) layer, n), split, module));
    }
}
