package ckpt.format.megatron;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Megatron's key vocabulary (FORMATS.md §4.3–4.7): classifies DCP keys of a torch_dist checkpoint and strips
 * optimizer prefixes back to the model key they belong to.
 */
public final class MegatronKeys {
    private static final Pattern FULLY = Pattern.compile("(?:chained_\\d+\\.)?optimizer\\.state\\.(fp32_param|param|exp_avg|exp_avg_sq|[A-Za-z0-9_]+)\\.(.+)");
    private static final Pattern BUCKET = Pattern.compile("(?:chained_\\d+\\.)?optimizer\\.distributed\\.dp_group_idx_\\d+\\..*\\.(param|exp_avg|exp_avg_sq)");
    /** Compiled once: {@link #classify} runs on every key, 26 k of them in a 405B checkpoint. */
    private static final Pattern CHAINED_OPTIMIZER = Pattern.compile("chained_\\d+\\.optimizer\\..*");

    private MegatronKeys() {
    }

    public static KeyCategory classify(String key, boolean tensor) {
        String base = ShardedObjectKey.parse(key).map(ShardedObjectKey::key).orElse(key);
        if (base.equals("common_state")) return KeyCategory.COMMON_STATE;
        if (base.equals("rng_state") || base.startsWith("rng_state")) return KeyCategory.RNG_STATE;
        if (base.endsWith("._extra_state") || base.contains("._extra_state")) return KeyCategory.EXTRA_STATE;
        if (base.startsWith("rerun_state_machine")) return KeyCategory.OTHER;
        Matcher m = BUCKET.matcher(base);
        if (tensor && m.matches()) return optimizerKind(m.group(1));
        m = FULLY.matcher(base);
        if (tensor && m.matches()) return optimizerKind(m.group(1));
        if (base.startsWith("optimizer.") || CHAINED_OPTIMIZER.matcher(base).matches()) return KeyCategory.OPTIMIZER_OTHER;
        if (tensor && isModelKey(base)) return KeyCategory.MODEL_WEIGHT;
        return KeyCategory.OTHER;
    }

    private static KeyCategory optimizerKind(String state) {
        return switch (state) {
            case "fp32_param", "param" -> KeyCategory.OPTIMIZER_MASTER;
            case "exp_avg" -> KeyCategory.OPTIMIZER_EXP_AVG;
            case "exp_avg_sq" -> KeyCategory.OPTIMIZER_EXP_AVG_SQ;
            default -> KeyCategory.OPTIMIZER_OTHER;
        };
    }

    /** Model keys of mcore GPT-style models (and anything else under the usual module roots). */
    public static boolean isModelKey(String key) {
        return key.startsWith("embedding.") || key.startsWith("decoder.") || key.startsWith("output_layer.")
                || key.startsWith("encoder.") || key.startsWith("mtp.") || key.startsWith("vision_model.")
                || key.startsWith("language_model.") || key.startsWith("model.") || key.startsWith("pooler.")
                || key.startsWith("lm_head.") || key.startsWith("binary_head.");
    }

    /** For {@code optimizer.state.exp_avg.<model key>} style keys: the model key. */
    public static Optional<String> optimizerModelKey(String key) {
        Matcher m = FULLY.matcher(key);
        return m.matches() ? Optional.of(m.group(2)) : Optional.empty();
    }

    /** Whether a model key is a stacked per-layer tensor (leading {@code num_layers} axis). */
    public static boolean isStackedLayerKey(String key) {
        return key.startsWith("decoder.layers.") && !Character.isDigit(key.charAt("decoder.layers.".length()))
                || key.startsWith("mtp.layers.") && !Character.isDigit(key.charAt("mtp.layers.".length()));
    }

    /** Whether a stacked key also has an expert axis ({@code [L, E, …]}). */
    public static boolean isStackedExpertKey(String key) {
        return isStackedLayerKey(key) && key.contains(".mlp.experts.experts.");
    }
}
