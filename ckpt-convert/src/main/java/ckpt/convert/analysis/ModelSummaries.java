package ckpt.convert.analysis;

import ckpt.convert.index.CheckpointIndex;

import java.util.Optional;

/** Chooses where a checkpoint's model config comes from: the saved args when readable, else the weight shapes. */
public final class ModelSummaries {
    private ModelSummaries() {
    }

    public static Optional<ModelSummary> of(CheckpointIndex index) {
        if (index.config() != null && !index.args().isEmpty() && index.config().numLayers() > 0)
            return Optional.of(ModelSummary.fromArgs(index.config()));
        return ShapeInference.infer(index);
    }
}
