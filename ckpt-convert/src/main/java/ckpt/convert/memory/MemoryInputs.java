package ckpt.convert.memory;

import ckpt.convert.analysis.ModelSummaries;
import ckpt.convert.analysis.ModelSummary;
import ckpt.convert.analysis.ParallelSummary;
import ckpt.convert.index.CheckpointFormat;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.GlobalTensor;
import ckpt.format.FormatException;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What a checkpoint tells a memory estimate: its saved Megatron args, or — when they are not readable (a
 * metadata-only copy) — the architecture its weight shapes reveal and the world size its file names show.
 */
public final class MemoryInputs {
    private MemoryInputs() {
    }

    /** The estimate's args: the checkpoint's, then {@code overrides} (Megatron names; null clears). */
    public static TrainingArgs args(CheckpointIndex index, Map<String, Object> overrides) {
        if (index.format() != CheckpointFormat.MEGATRON_TORCH_DIST && index.format() != CheckpointFormat.MEGATRON_LEGACY_TORCH)
            throw new FormatException(index.path(), "ckpt memory reads a Megatron checkpoint's args; this is a " + index.format().title());
        Map<String, Object> inferred = index.args().isEmpty() ? inferred(index, overrides) : Map.of();
        return TrainingArgs.of(index.args(), inferred, overrides);
    }

    private static Map<String, Object> inferred(CheckpointIndex index, Map<String, Object> overrides) {
        Map<String, Object> m = new LinkedHashMap<>();
        Optional<ModelSummary> ms = ModelSummaries.of(index);
        ms.ifPresent(s -> {
            put(m, "num_layers", s.numLayers());
            put(m, "hidden_size", s.hiddenSize());
            put(m, "ffn_hidden_size", s.ffnHiddenSize());
            put(m, "num_attention_heads", s.numAttentionHeads());
            put(m, "kv_channels", s.kvChannels());
            put(m, "padded_vocab_size", s.paddedVocabSize());
            put(m, "normalization", s.normalization());
            put(m, "swiglu", s.gatedLinearUnit());
            if (s.tiedEmbeddings() != null) m.put("untie_embeddings_and_output_weights", !s.tiedEmbeddings());
            put(m, "add_bias_linear", s.addBiasLinear());
            put(m, "num_experts", s.numExperts());
            if (s.numQueryGroups() != null && s.numAttentionHeads() != null) {
                m.put("num_query_groups", s.numQueryGroups());
                m.put("group_query_attention", !s.numQueryGroups().equals(s.numAttentionHeads()));
            }
        });
        // Shapes give the query and key/value widths but not the head count; once it is given, they give the rest.
        Object heads = overrides.getOrDefault("num_attention_heads", m.get("num_attention_heads"));
        if (heads instanceof Long n && !overrides.containsKey("num_query_groups") && !m.containsKey("num_query_groups")) {
            Optional<long[]> proj = layerShape(index, "self_attention.linear_proj.weight");
            Optional<long[]> qkv = layerShape(index, "self_attention.linear_qkv.weight");
            if (proj.isPresent() && qkv.isPresent()) {
                long q = proj.get()[proj.get().length - 1], rows = qkv.get()[qkv.get().length - 2];
                if (q % n == 0) {
                    long d = q / n;
                    long g = (rows / d - n) / 2;
                    if (g > 0 && (n + 2 * g) * d == rows) {
                        m.put("kv_channels", d);
                        m.put("num_query_groups", g);
                        m.put("group_query_attention", g != n);
                    }
                }
            }
        }
        ParallelSummary.of(index).ifPresent(p -> {
            put(m, "world_size", p.worldSize());
            put(m, "use_distributed_optimizer", p.distributedOptimizer());
        });
        return m;
    }

    private static Optional<long[]> layerShape(CheckpointIndex index, String suffix) {
        for (GlobalTensor t : index.tensors())
            if (t.key().equals("decoder.layers." + suffix) || t.key().equals("decoder.layers.0." + suffix)) return Optional.of(t.shape());
        return Optional.empty();
    }

    private static void put(Map<String, Object> m, String k, Object v) {
        if (v != null) m.put(k, v);
    }
}
