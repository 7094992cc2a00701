package ckpt.convert.mapping.imports;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.GlobalTensor;
import ckpt.convert.plan.TensorSlice;
import ckpt.format.FormatException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The weights of a Hugging Face checkpoint by name. Names in rules are templates: {@code {i}} is the layer,
 * {@code {e}} the expert. Every lookup marks the tensor used, so an import can refuse a checkpoint holding weights
 * its family has no place for instead of dropping them.
 */
public final class HfTensors {
    /** Buffers some exports carry that are not weights (recomputed by the model). */
    private static final List<String> BUFFERS = List.of(".rotary_emb.inv_freq", ".attn.bias", ".attn.masked_bias");

    private final CheckpointIndex index;
    private final Map<String, GlobalTensor> byName = new LinkedHashMap<>();
    private final Set<String> used = new LinkedHashSet<>();
    private final String stripPrefix;

    /** @param stripPrefix a prefix some exports omit (GPT-2's {@code transformer.}); looked up with and without it */
    public HfTensors(CheckpointIndex index, String stripPrefix) {
        this.index = index;
        this.stripPrefix = stripPrefix;
        for (GlobalTensor t : index.tensors()) byName.put(t.key(), t);
    }

    public CheckpointIndex index() {
        return index;
    }

    static String bind(String template, Position at) {
        String s = template;
        if (s.contains("{i}")) s = s.replace("{i}", Long.toString(at.layer()));
        if (s.contains("{e}")) s = s.replace("{e}", Long.toString(at.expert()));
        return s;
    }

    public boolean has(String template, Position at) {
        return resolve(bind(template, at)) != null;
    }

    private String resolve(String name) {
        if (byName.containsKey(name)) return name;
        if (stripPrefix != null && name.startsWith(stripPrefix) && byName.containsKey(name.substring(stripPrefix.length())))
            return name.substring(stripPrefix.length());
        return null;
    }

    public Optional<TensorSlice> find(String template, Position at) {
        String n = resolve(bind(template, at));
        if (n == null) return Optional.empty();
        used.add(n);
        return Optional.of(TensorSlice.whole(byName.get(n)));
    }

    public TensorSlice require(String template, Position at) {
        return find(template, at).orElseThrow(() -> new FormatException(index.path(), "the checkpoint has no tensor " + bind(template, at)));
    }

    /** Weights no rule has read (buffers aside). */
    public List<String> unused() {
        List<String> out = new ArrayList<>();
        for (String n : byName.keySet())
            if (!used.contains(n) && BUFFERS.stream().noneMatch(n::endsWith)) out.add(n);
        return out;
    }
}
