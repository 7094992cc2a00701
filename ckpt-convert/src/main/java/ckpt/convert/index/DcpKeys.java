package ckpt.convert.index;

import ckpt.format.megatron.KeyCategory;
import ckpt.format.megatron.MegatronKeys;

import java.util.List;

/**
 * Classifies keys of plain DCP app states (FORMATS.md §3.7): {@code model.*} weights, {@code optim.state.<fqn>.exp_avg}
 * and friends from {@code get_optimizer_state_dict}. The nested path from {@code planner_data} is used when present
 * because dots inside module names make the flat key ambiguous.
 */
final class DcpKeys {
    private DcpKeys() {
    }

    static KeyCategory classify(String key, List<Object> path, boolean tensor) {
        String first = path != null && !path.isEmpty() ? String.valueOf(path.getFirst()) : key.split("\\.", 2)[0];
        String last = path != null && !path.isEmpty() ? String.valueOf(path.getLast()) : key.substring(key.lastIndexOf('.') + 1);
        boolean optim = first.startsWith("optim") || key.startsWith("optimizer.");
        if (optim) {
            if (!tensor) return KeyCategory.OPTIMIZER_OTHER;
            return switch (last) {
                case "exp_avg" -> KeyCategory.OPTIMIZER_EXP_AVG;
                case "exp_avg_sq" -> KeyCategory.OPTIMIZER_EXP_AVG_SQ;
                case "fp32_param", "master_param", "param" -> KeyCategory.OPTIMIZER_MASTER;
                default -> KeyCategory.OPTIMIZER_OTHER;
            };
        }
        if (first.equals("rng_state") || first.contains("rng")) return KeyCategory.RNG_STATE;
        if (key.contains("_extra_state")) return KeyCategory.EXTRA_STATE;
        if (!tensor) return KeyCategory.OTHER;
        if (first.equals("model") || first.equals("module") || first.equals("state_dict") || MegatronKeys.isModelKey(key))
            return KeyCategory.MODEL_WEIGHT;
        // A flat app state saved as dcp.save(model.state_dict()): keys are module paths.
        return path == null || path.size() <= 1 ? KeyCategory.MODEL_WEIGHT : KeyCategory.OTHER;
    }
}
