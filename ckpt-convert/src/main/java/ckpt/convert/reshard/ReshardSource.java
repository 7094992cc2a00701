package ckpt.convert.reshard;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.GlobalTensor;
import ckpt.format.megatron.KeyCategory;

import java.util.List;
import java.util.Map;

/**
 * A training checkpoint as a resharding writer consumes it, whatever its on-disk format: the model, the optimizer's
 * per-parameter state in Megatron's {@code fully_reshardable} form, and the optimizer's non-tensor state. All tensors
 * are views (pieces over the source files); nothing is read until a writer assembles them.
 *
 * @param model           the model as an index: weights under torch_dist keys with torch_dist global shapes (stacked
 *                        layers, experts), category {@link KeyCategory#MODEL_WEIGHT} (see {@link #modelTensors()});
 *                        the index may list other entries (RNG state, the source's raw optimizer buffers) a writer
 *                        skips
 * @param optimizerState  {@code optimizer.state.<name>.<model key>} for each optimizer state {@code name}
 *                        ({@code param} = the fp32 main weights, {@code exp_avg}, {@code exp_avg_sq} for Adam), fp32,
 *                        each exactly the model key's global shape; empty when the optimizer state is dropped
 * @param optimizerCommon non-tensor state of the source's training job, as the inert pickle values it holds
 *                        ({@code PyDict}, {@code PyTuple}, {@code Long}, {@code Double}, {@code String}…;
 *                        {@code ckpt.format.megatron.Plain#of} makes them JSON-friendly): {@code iteration},
 *                        {@code checkpoint_version}, {@code optimizer} ({@code {"optimizer": {"param_groups": […]}}}
 *                        with {@code step}, {@code lr}… per group; the inner dict is what torch_dist stores as the
 *                        ShardedObject {@code optimizer.distributed.dp_group_idx_<m>.optimizer}),
 *                        {@code opt_param_scheduler}, {@code num_floating_point_operations_so_far}, {@code args},
 *                        whichever the source has
 */
public record ReshardSource(CheckpointIndex model, List<GlobalTensor> optimizerState, Map<String, Object> optimizerCommon)
        implements AutoCloseable {
    public ReshardSource {
        optimizerState = List.copyOf(optimizerState);
        optimizerCommon = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(optimizerCommon));
    }

    /** The model weights only. */
    public List<GlobalTensor> modelTensors() {
        return model.tensors().stream().filter(t -> t.category() == KeyCategory.MODEL_WEIGHT).toList();
    }

    /** Closes the source files. */
    @Override
    public void close() {
        model.close();
    }
}
