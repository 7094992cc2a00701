package ckpt.convert.memory;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The Megatron args a memory estimate reads, by Megatron's own names ({@code tensor_model_parallel_size},
 * {@code recompute_granularity}…): a checkpoint's saved args, missing ones at Megatron's defaults, overridden by
 * the planned run's options. {@code world_size} and {@code data_parallel_size} are kept consistent
 * (world = TP·PP·CP·DP), and the expert TP size follows the TP size unless it was set apart from it.
 */
public final class TrainingArgs {
    /** Megatron d98e8a64's defaults for args older saves lack (argparse defaults, then validate_args). */
    static final Map<String, Object> DEFAULTS;

    static {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("num_experts", null);
        d.put("moe_layer_freq", 1L);
        d.put("moe_ffn_hidden_size", null);
        d.put("moe_router_topk", 2L);
        d.put("moe_shared_expert_intermediate_size", null);
        d.put("moe_shared_expert_gate", false);
        d.put("moe_latent_size", null);
        d.put("mtp_num_layers", null);
        d.put("multi_latent_attention", false);
        d.put("expert_model_parallel_size", 1L);
        d.put("expert_tensor_parallel_size", null);
        d.put("virtual_pipeline_model_parallel_size", null);
        d.put("recompute_granularity", null);
        d.put("recompute_method", null);
        d.put("recompute_num_layers", null);
        d.put("distribute_saved_activations", false);
        d.put("sequence_parallel", false);
        d.put("hybrid_layer_pattern", null);
        d.put("context_parallel_size", 1L);
        d.put("group_query_attention", false);
        d.put("swiglu", false);
        d.put("add_bias_linear", true);
        d.put("untie_embeddings_and_output_weights", false);
        d.put("normalization", "LayerNorm");
        d.put("use_distributed_optimizer", false);
        d.put("tensor_model_parallel_size", 1L);
        d.put("pipeline_model_parallel_size", 1L);
        DEFAULTS = Collections.unmodifiableMap(d);
    }

    /** What a memory estimate cannot do without; the error names the option that gives each. */
    static final Map<String, String> REQUIRED = requiredOptions();

    private static Map<String, String> requiredOptions() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("num_layers", "--num-layers");
        m.put("hidden_size", "--hidden-size");
        m.put("ffn_hidden_size", "--ffn-hidden-size");
        m.put("num_attention_heads", "--num-attention-heads");
        m.put("padded_vocab_size", "--padded-vocab-size");
        m.put("seq_length", "--seq-length");
        m.put("micro_batch_size", "--micro-batch-size");
        m.put("global_batch_size", "--global-batch-size");
        m.put("data_parallel_size", "--dp");
        return m;
    }

    /** Sizes that must be at least 1 (unset optional ones are skipped), with the option that sets each. */
    private static final Map<String, String> POSITIVE = new LinkedHashMap<>();

    static {
        POSITIVE.put("tensor_model_parallel_size", "--tp");
        POSITIVE.put("pipeline_model_parallel_size", "--pp");
        POSITIVE.put("virtual_pipeline_model_parallel_size", "--vpp");
        POSITIVE.put("context_parallel_size", "--cp");
        POSITIVE.put("expert_model_parallel_size", "--ep");
        POSITIVE.put("expert_tensor_parallel_size", "--etp");
        POSITIVE.put("data_parallel_size", "--dp");
        POSITIVE.put("micro_batch_size", "--micro-batch-size");
        POSITIVE.put("global_batch_size", "--global-batch-size");
        POSITIVE.put("seq_length", "--seq-length");
        POSITIVE.put("recompute_num_layers", "--recompute-num-layers");
        POSITIVE.put("num_layers", "--num-layers");
        POSITIVE.put("hidden_size", "--hidden-size");
        POSITIVE.put("ffn_hidden_size", "--ffn-hidden-size");
        POSITIVE.put("num_attention_heads", "--num-attention-heads");
        POSITIVE.put("num_query_groups", "--num-query-groups");
        POSITIVE.put("kv_channels", "--kv-channels");
        POSITIVE.put("padded_vocab_size", "--padded-vocab-size");
        POSITIVE.put("num_experts", "--num-experts");
        POSITIVE.put("moe_ffn_hidden_size", "--moe-ffn-hidden-size");
        POSITIVE.put("moe_router_topk", "--moe-router-topk");
    }

    private final Map<String, Object> values;
    private final java.util.Set<String> fromOptions;

    private TrainingArgs(Map<String, Object> values, java.util.Set<String> fromOptions) {
        this.values = values;
        this.fromOptions = fromOptions;
    }

    /** Whether any of these args was set by the planned run's options (not the checkpoint): decides usage error or bad input. */
    public boolean fromOptions(String... keys) {
        for (String k : keys) if (fromOptions.contains(k)) return true;
        return false;
    }

    /**
     * @param saved     the checkpoint's args (may be empty)
     * @param inferred  model args read from the weight shapes, used only where {@code saved} lacks them
     * @param overrides the planned run, by Megatron name; a null value clears the arg (e.g. no recompute)
     */
    public static TrainingArgs of(Map<String, Object> saved, Map<String, Object> inferred, Map<String, Object> overrides) {
        Map<String, Object> v = new LinkedHashMap<>(DEFAULTS);
        v.putAll(inferred);
        v.putAll(saved);
        Long savedTp = asLong(v.get("tensor_model_parallel_size"));
        Object savedEtp = v.get("expert_tensor_parallel_size");
        boolean etpFollowsTp = savedEtp == null || savedEtp.equals(savedTp);
        if (!v.containsKey("data_parallel_size") || v.get("data_parallel_size") == null) {
            Long world = asLong(v.get("world_size"));
            if (world != null) v.put("data_parallel_size", world / (savedTp * lng(v, "pipeline_model_parallel_size") * lng(v, "context_parallel_size")));
        }
        v.putAll(overrides);
        if (etpFollowsTp && !overrides.containsKey("expert_tensor_parallel_size"))
            v.put("expert_tensor_parallel_size", v.get("tensor_model_parallel_size"));
        if (!Boolean.TRUE.equals(v.get("group_query_attention")) || v.get("num_query_groups") == null)
            v.put("num_query_groups", v.get("num_attention_heads"));
        if (v.get("kv_channels") == null && v.get("hidden_size") != null && v.get("num_attention_heads") != null)
            v.put("kv_channels", lng(v, "hidden_size") / lng(v, "num_attention_heads"));
        if (v.get("ffn_hidden_size") == null && v.get("hidden_size") != null) v.put("ffn_hidden_size", 4 * lng(v, "hidden_size"));
        if (v.get("num_experts") != null && v.get("moe_ffn_hidden_size") == null) v.put("moe_ffn_hidden_size", v.get("ffn_hidden_size"));
        java.util.List<String> missing = new java.util.ArrayList<>();
        for (var e : REQUIRED.entrySet()) if (v.get(e.getKey()) == null) missing.add(e.getValue());
        if (!missing.isEmpty())
            throw new RunOptionException("the checkpoint's args do not say " + String.join(", ", missing)
                    + ": give " + (missing.size() == 1 ? "it" : "them") + " as option" + (missing.size() == 1 ? "" : "s"));
        for (var e : POSITIVE.entrySet()) {
            Object val = v.get(e.getKey());
            if (val == null) continue;
            Long l = asLong(val);
            if (l == null || l < 1) {
                if (overrides.containsKey(e.getKey()))
                    throw new RunOptionException(e.getValue() + " must be a whole number of at least 1, not " + val);
                throw new IllegalArgumentException("saved arg " + e.getKey() + " must be a whole number of at least 1, not " + val);
            }
        }
        v.put("world_size", lng(v, "tensor_model_parallel_size") * lng(v, "pipeline_model_parallel_size")
                * lng(v, "context_parallel_size") * lng(v, "data_parallel_size"));
        return new TrainingArgs(v, java.util.Set.copyOf(overrides.keySet()));
    }

    private static long lng(Map<String, Object> v, String k) {
        Long l = asLong(v.get(k));
        if (l == null) throw new IllegalArgumentException("arg " + k + " is not an integer: " + v.get(k));
        return l;
    }

    static Long asLong(Object o) {
        if (o instanceof Long l) return l;
        if (o instanceof Integer i) return (long) i;
        if (o instanceof Double d && d == Math.rint(d)) return d.longValue();
        return null;
    }

    /** The same args with one changed, unchecked (e.g. no layers, to isolate the non-layer terms). */
    TrainingArgs with(String k, Object v) {
        Map<String, Object> copy = new LinkedHashMap<>(values);
        copy.put(k, v);
        return new TrainingArgs(copy, fromOptions);
    }

    public long getLong(String k) {
        return lng(values, k);
    }

    public Optional<Long> optLong(String k) {
        return Optional.ofNullable(asLong(values.get(k)));
    }

    public boolean flag(String k) {
        return Boolean.TRUE.equals(values.get(k));
    }

    public Optional<String> string(String k) {
        Object o = values.get(k);
        return o == null ? Optional.empty() : Optional.of(String.valueOf(o));
    }

    public Object raw(String k) {
        return values.get(k);
    }

    /** The moe_layer_freq pattern over num_layers (Megatron: an int N means every N-th layer from 0, or a list). */
    List<Long> moeLayerPattern() {
        Object f = values.get("moe_layer_freq");
        long layers = getLong("num_layers");
        List<Long> out = new java.util.ArrayList<>();
        if (f instanceof List<?> l) {
            for (Object o : l) out.add(asLong(o));
            if (out.size() != layers)
                throw new IllegalArgumentException("moe_layer_freq pattern has " + out.size() + " entries, num_layers is " + layers);
        } else {
            long n = asLong(f);
            for (long i = 0; i < layers; i++) out.add(i % n == 0 ? 1L : 0L);
        }
        return out;
    }

    /** The args as used, by Megatron name, for the report. */
    public Map<String, Object> asMap() {
        return Collections.unmodifiableMap(values);
    }
}
