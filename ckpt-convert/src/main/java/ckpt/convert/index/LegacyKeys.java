package ckpt.convert.index;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Names in a legacy rank's {@code state_dict_for_save_checkpoint()} → the names torch_dist uses for the same tensor
 * (FORMATS.md §4.4–4.5, §8): stage-local layer numbers are pulled out (they become a stacking axis or a global
 * number), local experts become an expert index under the {@code experts.experts} prefix, and, for the local (non-TE)
 * layer spec, the norms take the names of the TE fused modules, as {@code sharded_state_dict_keys_map} does.
 */
final class LegacyKeys {
    private static final Pattern LAYER = Pattern.compile("decoder\\.layers\\.(\\d{1,9})\\.(.+)");
    private static final Pattern SEQUENTIAL_EXPERT = Pattern.compile("mlp\\.experts\\.local_experts\\.(\\d{1,9})\\.(.+)");
    private static final Pattern GROUPED_EXPERT = Pattern.compile("mlp\\.experts\\.(linear_fc[12])\\.(weight|bias)(\\d{1,9})");

    private LegacyKeys() {
    }

    /**
     * A parsed local key.
     *
     * @param localLayer  layer number local to the stage / chunk, or -1 outside {@code decoder.layers}
     * @param localExpert expert number local to the EP rank, or -1 when not an expert tensor
     * @param name        the key without layer number, experts normalized and norms renamed (e.g.
     *                    {@code self_attention.linear_qkv.layer_norm_weight}, {@code mlp.experts.experts.linear_fc1.weight});
     *                    the whole key outside {@code decoder.layers}
     */
    record Parsed(int localLayer, int localExpert, String name) {
        boolean inLayer() {
            return localLayer >= 0;
        }

        boolean isExpert() {
            return localExpert >= 0;
        }

        /** The torch_dist key: stacked ({@code decoder.layers.<name>}) or per layer ({@code decoder.layers.<g>.<name>}). */
        String globalKey(long globalLayer, boolean stacked) {
            if (!inLayer()) return name;
            return stacked ? "decoder.layers." + name : "decoder.layers." + globalLayer + "." + name;
        }
    }

    static Parsed parse(String key, boolean localSpecNames) {
        Matcher m = LAYER.matcher(key);
        if (!m.matches()) return new Parsed(-1, -1, key);
        int layer = Integer.parseInt(m.group(1));
        String rest = m.group(2);
        int expert = -1;
        Matcher e = SEQUENTIAL_EXPERT.matcher(rest);
        if (e.matches()) {
            expert = Integer.parseInt(e.group(1));
            rest = "mlp.experts.experts." + e.group(2);
        } else if ((e = GROUPED_EXPERT.matcher(rest)).matches()) {
            expert = Integer.parseInt(e.group(3));
            rest = "mlp.experts.experts." + e.group(1) + "." + e.group(2);
        }
        if (localSpecNames) {
            if (rest.startsWith("input_layernorm.")) rest = "self_attention.linear_qkv.layer_norm_" + rest.substring("input_layernorm.".length());
            else if (rest.startsWith("pre_mlp_layernorm.")) rest = "mlp.linear_fc1.layer_norm_" + rest.substring("pre_mlp_layernorm.".length());
        }
        return new Parsed(layer, expert, rest);
    }

    /**
     * The TP rule for a (normalized) name, or null when ckpt knows none (the caller refuses such keys when TP &gt; 1
     * rather than guess).
     */
    static TpSplit split(String name, boolean gatedLinearUnit) {
        String n = name.startsWith("decoder.layers.") ? name.substring("decoder.layers.".length()) : name;
        if (n.equals("embedding.word_embeddings.weight") || n.equals("output_layer.weight")) return TpSplit.COLUMN;
        if (n.equals("embedding.position_embeddings.weight")) return TpSplit.REPLICATED;
        if (n.endsWith("linear_fc1.weight") || n.endsWith("linear_fc1.bias"))
            return gatedLinearUnit ? TpSplit.GLU_COLUMN : TpSplit.COLUMN;
        if (endsWithAny(n, "linear_qkv.weight", "linear_qkv.bias", "linear_q_proj.weight", "linear_q_proj.bias",
                "linear_q_up_proj.weight", "linear_kv_up_proj.weight", "linear_q.weight", "linear_q.bias",
                "linear_kv.weight", "linear_kv.bias"))
            return TpSplit.COLUMN;
        if (n.endsWith("linear_proj.weight") || n.endsWith("linear_fc2.weight")) return TpSplit.ROW;
        if (n.endsWith("linear_proj.bias") || n.endsWith("linear_fc2.bias")) return TpSplit.REPLICATED;
        String last = n.substring(n.lastIndexOf('.') + 1);
        if (n.contains("norm") || last.startsWith("layer_norm_")) return TpSplit.REPLICATED;
        if (n.contains("mlp.router.") || n.endsWith("shared_experts.gate_weight")) return TpSplit.REPLICATED;
        if (endsWithAny(n, "linear_q_down_proj.weight", "linear_kv_down_proj.weight", "linear_qkv_down_proj.weight"))
            return TpSplit.REPLICATED;
        return null;
    }

    private static boolean endsWithAny(String s, String... suffixes) {
        for (String x : suffixes) if (s.endsWith(x)) return true;
        return false;
    }
}
