package ckpt.convert.mapping;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.GlobalTensor;
import ckpt.convert.plan.TensorSlice;
import ckpt.format.FormatException;
import ckpt.format.megatron.KeyCategory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The model weights of a Megatron checkpoint by mcore name, with the on-disk layouts resolved (MAPPING.md §1.2–1.3):
 * a layer is a slice of a stacked {@code decoder.layers.X} {@code [L, …]} tensor or a {@code decoder.layers.{i}.X}
 * key; an expert is a slice of {@code …mlp.experts.experts.X} {@code [L, E, …]} or {@code [E, …]}. One leading
 * {@code module.}/{@code model.} (NeMo, wrapped models) is stripped. Every lookup that finds a tensor marks it used,
 * so a mapping can refuse checkpoints holding weights it would otherwise drop silently.
 */
public final class MegatronSource {
    private static final String LAYERS = "decoder.layers.";
    private static final String EXPERTS = "mlp.experts.experts.";

    private final CheckpointIndex index;
    private final long numLayers;
    private final Map<String, GlobalTensor> byName = new LinkedHashMap<>();
    private final Set<String> used = new LinkedHashSet<>();

    public MegatronSource(CheckpointIndex index, long numLayers) {
        this.index = index;
        this.numLayers = numLayers;
        for (GlobalTensor t : index.tensors()) {
            if (t.category() != KeyCategory.MODEL_WEIGHT) continue;
            byName.put(strip(t.key()), t);
        }
    }

    static String strip(String key) {
        for (String p : List.of("module.", "model."))
            if (key.startsWith(p) && isMcoreRoot(key.substring(p.length()))) return key.substring(p.length());
        return key;
    }

    private static boolean isMcoreRoot(String k) {
        return k.startsWith("embedding.") || k.startsWith("decoder.") || k.startsWith("output_layer.") || k.startsWith("mtp.");
    }

    public CheckpointIndex index() {
        return index;
    }

    public long numLayers() {
        return numLayers;
    }

    /** Model weight names (prefix stripped), in index order. */
    public Set<String> names() {
        return byName.keySet();
    }

    public boolean has(String name) {
        return byName.containsKey(name);
    }

    /** Whether layers have a tensor {@code suffix} (stacked, or in layer 0's own key). */
    public boolean hasLayer(String suffix) {
        return byName.containsKey(LAYERS + suffix) || byName.containsKey(LAYERS + "0." + suffix);
    }

    /** The global tensor of a model weight, without marking it used. */
    public Optional<GlobalTensor> peek(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** A non-layer tensor such as {@code embedding.word_embeddings.weight}. */
    public Optional<TensorSlice> find(String name) {
        GlobalTensor t = byName.get(name);
        if (t == null) return Optional.empty();
        used.add(name);
        return Optional.of(TensorSlice.whole(t));
    }

    public TensorSlice require(String name) {
        return find(name).orElseThrow(() -> missing(name));
    }

    /**
     * Layer {@code i}'s tensor named by the first of {@code suffixes} present (e.g. the TE name, then the local-spec
     * name): {@code decoder.layers.<suffix>} sliced at {@code i}, or {@code decoder.layers.<i>.<suffix>}.
     */
    public Optional<TensorSlice> layer(long i, String... suffixes) {
        for (String s : suffixes) {
            GlobalTensor stacked = byName.get(LAYERS + s);
            if (stacked != null) {
                checkLayerAxis(stacked);
                used.add(LAYERS + s);
                return Optional.of(TensorSlice.whole(stacked).index(i));
            }
            String own = LAYERS + i + "." + s;
            if (byName.containsKey(own)) {
                used.add(own);
                return Optional.of(TensorSlice.whole(byName.get(own)));
            }
        }
        return Optional.empty();
    }

    public TensorSlice requireLayer(long i, String... suffixes) {
        return layer(i, suffixes).orElseThrow(() -> missing(LAYERS + "[" + i + "]." + String.join(" or ", suffixes)));
    }

    /**
     * Expert {@code e} of layer {@code i}: {@code decoder.layers.mlp.experts.experts.<suffix>} {@code [L, E, …]} or
     * {@code decoder.layers.<i>.mlp.experts.experts.<suffix>} {@code [E, …]}, both as saved by TEGroupedMLP and
     * SequentialMLP (MAPPING.md §1.3).
     */
    public Optional<TensorSlice> expert(long i, long e, String suffix) {
        return layer(i, EXPERTS + suffix).map(s -> s.index(e));
    }

    public TensorSlice requireExpert(long i, long e, String suffix) {
        return expert(i, e, suffix).orElseThrow(() -> missing(LAYERS + "[" + i + "]." + EXPERTS + suffix + "[" + e + "]"));
    }

    /** Model weights no lookup has touched (never {@code _extra_state}, which is not a weight). */
    public List<String> unused() {
        List<String> out = new ArrayList<>();
        for (String n : byName.keySet()) if (!used.contains(n) && !n.contains("_extra_state")) out.add(n);
        return out;
    }

    private void checkLayerAxis(GlobalTensor t) {
        if (t.rank() == 0 || t.dim(0) != numLayers)
            throw FormatException.atKey(index.path(), t.key(), "stacked layer tensor of shape " + Arrays.toString(t.shape())
                    + " does not have num_layers=" + numLayers + " on its first axis");
    }

    private FormatException missing(String what) {
        return new FormatException(index.path(), "the checkpoint has no tensor " + what);
    }
}
