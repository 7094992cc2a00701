package ckpt.convert.memory;

import java.util.List;
import java.util.Map;

/**
 * {@code ckpt memory}: per-GPU memory of a planned run, first pipeline stage.
 *
 * @param weightAndOptimizerBytes Megatron's {@code compute_weight_and_optimizer_memory} for these args, exactly
 * @param activationBytes         activations: Megatron's figure where Megatron models the configuration (no
 *                                recompute; selective + sequence parallel), else ckpt's Table-2 model
 * @param megatronModelsActivations whether {@code activationBytes} is Megatron's own figure
 * @param recomputeFlopsFraction  recomputed FLOPs as a fraction of a training step without recompute
 * @param hostBytes               checkpointed activations kept in host memory (DeepSpeed cpu_checkpointing)
 */
public record MemoryEstimate(Map<String, Object> args, long numMicrobatches, double parametersPerGpu,
                             double totalParameters, List<MemoryLine> lines, double weightAndOptimizerBytes,
                             double activationBytes, boolean megatronModelsActivations, String activationModel,
                             double recomputeFlopsFraction, String recomputeFlopsFormula, double hostBytes,
                             List<String> notes) {
    public MemoryEstimate {
        lines = List.copyOf(lines);
        notes = List.copyOf(notes);
    }

    public double totalBytes() {
        return weightAndOptimizerBytes + activationBytes;
    }
}
