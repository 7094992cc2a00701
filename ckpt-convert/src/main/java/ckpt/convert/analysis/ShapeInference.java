package ckpt.convert.analysis;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.GlobalTensor;
import ckpt.format.megatron.KeyCategory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Recovers a Megatron GPT model's architecture from its weight shapes alone, for checkpoints whose args are not
 * readable (e.g. a metadata-only copy of a core ≥ 0.19 save, whose args live in the common-state item inside a data
 * file). Works on stacked ({@code decoder.layers.X} with a leading layer axis) and per-layer
 * ({@code decoder.layers.N.X}) keys. What shapes cannot decide stays null and is said in a note.
 */
public final class ShapeInference {
    private static final Pattern PER_LAYER = Pattern.compile("decoder\\.layers\\.(\\d{1,18})\\.(.+)");

    private final Map<String, GlobalTensor> byKey;
    private final boolean stacked;

    private ShapeInference(CheckpointIndex index) {
        this.byKey = index.tensorsByKey();
        this.stacked = byKey.keySet().stream().anyMatch(k -> k.startsWith("decoder.layers.") && !PER_LAYER.matcher(k).matches());
    }

    /** Empty when the checkpoint has no Megatron GPT weights to read a shape from. */
    public static Optional<ModelSummary> infer(CheckpointIndex index) {
        return new ShapeInference(index).infer();
    }

    private Optional<ModelSummary> infer() {
        Optional<long[]> embedding = shape("embedding.word_embeddings.weight");
        Long layers = layerCount();
        if (embedding.isEmpty() && layers == null) return Optional.empty();
        List<String> notes = new ArrayList<>();
        notes.add("the saved args are not readable here, so the config is inferred from the weight shapes");

        Long hidden = embedding.map(s -> s[1])
                .or(() -> shape("output_layer.weight").map(s -> s[1]))
                .or(() -> shape("decoder.final_layernorm.weight").map(s -> s[0])).orElse(null);
        Long paddedVocab = embedding.map(s -> s[0]).or(() -> shape("output_layer.weight").map(s -> s[0])).orElse(null);
        if (paddedVocab != null)
            notes.add("vocab size unknown: " + paddedVocab + " is the embedding's row count (the padded vocab)");

        Optional<long[]> fc1 = layerShape("mlp.linear_fc1.weight");
        Long ffn = layerShape("mlp.linear_fc2.weight").map(s -> s[s.length - 1]).orElse(null);
        Boolean glu = ffn == null || fc1.isEmpty() ? null : fc1.get()[fc1.get().length - 2] == 2 * ffn;

        Optional<long[]> proj = layerShape("self_attention.linear_proj.weight");
        Optional<long[]> qkv = layerShape("self_attention.linear_qkv.weight");
        Optional<long[]> qNorm = layerShape("self_attention.q_layernorm.weight");
        Long kv = qNorm.map(s -> s[0]).orElse(null);
        Long heads = null, groups = null;
        if (proj.isPresent() && qkv.isPresent()) {
            long qWidth = proj.get()[proj.get().length - 1];
            long kvWidth = (qkv.get()[qkv.get().length - 2] - qWidth) / 2;
            if (kv != null && kv > 0 && qWidth % kv == 0 && kvWidth % kv == 0) {
                heads = qWidth / kv;
                groups = kvWidth / kv;
            } else if (kvWidth > 0) {
                notes.add("attention: query width " + qWidth + ", key/value width " + kvWidth + " each ("
                        + (qWidth % kvWidth == 0 ? (qWidth / kvWidth) + " query heads per key/value head" : "grouped")
                        + "); the head count and head dim are not recoverable from shapes");
            }
        }

        boolean anyNormBias = byKey.keySet().stream().anyMatch(k -> k.endsWith("layer_norm_bias")
                || k.endsWith("layernorm.bias") || k.endsWith("final_layernorm.bias"));
        boolean anyNorm = byKey.keySet().stream().anyMatch(k -> k.contains("layernorm") || k.contains("layer_norm"));
        String norm = !anyNorm ? null : anyNormBias ? "LayerNorm" : "RMSNorm";
        boolean biasLinear = layerShape("self_attention.linear_proj.bias").isPresent() || layerShape("mlp.linear_fc1.bias").isPresent();
        boolean qkvBias = layerShape("self_attention.linear_qkv.bias").isPresent();
        String position = shape("embedding.position_embeddings.weight").isPresent() ? "learned_absolute" : null;
        if (position == null) notes.add("no learned position table: RoPE or no position embedding");
        Long maxPositions = shape("embedding.position_embeddings.weight").map(s -> s[0]).orElse(null);
        Long experts = layerShape("mlp.router.weight").map(s -> s[0]).orElse(null);
        Boolean tied = embedding.isPresent() ? !byKey.containsKey("output_layer.weight") : null;
        String dtype = byKey.values().stream().filter(t -> t.category() == KeyCategory.MODEL_WEIGHT)
                .map(t -> t.dtype().torchName()).findFirst().orElse(null);

        return Optional.of(new ModelSummary(ModelSummary.SOURCE_SHAPES, layers, hidden, ffn, heads, groups, kv, null,
                paddedVocab, norm, null, position, null, glu == null ? null : glu ? "gated (GLU, e.g. swiglu)" : null,
                glu, tied, biasLinear, qkvBias || biasLinear, qNorm.isPresent(), experts, maxPositions, dtype, notes));
    }

    private Optional<long[]> shape(String key) {
        GlobalTensor t = byKey.get(key);
        return t == null ? Optional.empty() : Optional.of(t.shape());
    }

    /** The shape of one layer's copy of a per-layer weight: the stacked tensor without its layer axis, or layer 0's. */
    private Optional<long[]> layerShape(String suffix) {
        if (stacked) {
            GlobalTensor t = byKey.get("decoder.layers." + suffix);
            if (t != null && t.rank() >= 1) return Optional.of(Arrays.copyOfRange(t.shape(), 1, t.rank()));
        }
        GlobalTensor t = byKey.get("decoder.layers.0." + suffix);
        return t == null ? Optional.empty() : Optional.of(t.shape());
    }

    private Long layerCount() {
        if (stacked) {
            for (GlobalTensor t : byKey.values()) {
                if (t.category() == KeyCategory.MODEL_WEIGHT && t.key().startsWith("decoder.layers.") && t.rank() >= 1
                        && !PER_LAYER.matcher(t.key()).matches()) return t.dim(0);
            }
        }
        TreeSet<Long> ids = new TreeSet<>();
        for (String k : byKey.keySet()) {
            Matcher m = PER_LAYER.matcher(k);
            if (m.matches()) ids.add(Long.parseLong(m.group(1)));
        }
        return ids.isEmpty() ? null : (long) ids.size();
    }
}
