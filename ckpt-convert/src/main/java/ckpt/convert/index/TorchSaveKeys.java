package ckpt.convert.index;

import ckpt.format.megatron.KeyCategory;

import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Classifies entries of a torch.save object tree by their path: what a training script or Megatron's legacy
 * {@code model_optim_rng.pt} puts under {@code model}/{@code state_dict}/{@code optimizer}/{@code rng_state}.
 * A bare state dict ({@code torch.save(model.state_dict())}) has its tensors at the top level: those are weights.
 */
final class TorchSaveKeys {
    private static final Set<String> MODEL_ROOTS = Set.of("model", "model_state_dict", "state_dict", "module");
    /** Megatron saves virtual-pipeline chunks as model0, model1, … */
    private static final Pattern MODEL_CHUNK = Pattern.compile("model\\d+");

    private TorchSaveKeys() {
    }

    /**
     * @param optimizerFile the whole file is optimizer state (Megatron's {@code distrib_optim.pt}, DeepSpeed's
     *                      {@code *_optim_states.pt}), whose top-level keys are bucket indices, not names
     */
    static KeyCategory tensor(List<String> path, boolean optimizerFile) {
        if (optimizerFile) return optimizerTensor(path);
        if (path.size() <= 1) return KeyCategory.MODEL_WEIGHT;
        String first = path.getFirst();
        if (isOptimizer(first)) return optimizerTensor(path);
        if (first.contains("rng")) return KeyCategory.RNG_STATE;
        if (path.getLast().endsWith("_extra_state")) return KeyCategory.EXTRA_STATE;
        if (MODEL_ROOTS.contains(first) || MODEL_CHUNK.matcher(first).matches()) return KeyCategory.MODEL_WEIGHT;
        return KeyCategory.OTHER;
    }

    static boolean isOptimizerFile(String fileName) {
        return fileName.startsWith("distrib_optim") || fileName.endsWith("_optim_states.pt");
    }

    private static KeyCategory optimizerTensor(List<String> path) {
        if (path.isEmpty()) return KeyCategory.OPTIMIZER_OTHER;
        // Megatron's legacy mixed-precision optimizer keeps fp32 masters as lists under this name.
        if (path.contains("fp32_from_fp16_params")) return KeyCategory.OPTIMIZER_MASTER;
        return switch (path.getLast()) {
            case "exp_avg" -> KeyCategory.OPTIMIZER_EXP_AVG;
            case "exp_avg_sq" -> KeyCategory.OPTIMIZER_EXP_AVG_SQ;
            // "param" is the fp32 main copy in Megatron's distributed-optimizer state (FORMATS.md §4.7, §8).
            case "fp32_param", "master_param", "param" -> KeyCategory.OPTIMIZER_MASTER;
            default -> KeyCategory.OPTIMIZER_OTHER;
        };
    }

    static KeyCategory object(List<String> path, boolean optimizerFile) {
        if (path.isEmpty()) return KeyCategory.OTHER;
        String first = path.getFirst();
        if (optimizerFile || isOptimizer(first)) return KeyCategory.OPTIMIZER_OTHER;
        if (first.contains("rng")) return KeyCategory.RNG_STATE;
        if (path.getLast().endsWith("_extra_state")) return KeyCategory.EXTRA_STATE;
        return path.size() == 1 ? KeyCategory.COMMON_STATE : KeyCategory.OTHER;
    }

    private static boolean isOptimizer(String first) {
        return first.startsWith("optim");
    }
}
