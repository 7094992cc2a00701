package ckpt.convert.reshard;

import ckpt.convert.exec.MegatronSave;
import ckpt.convert.index.GlobalTensor;
import ckpt.format.pickle.PyDict;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@code ckpt reshard} writes, whatever the source format: a Megatron GPT model as global tensors (layers stacked,
 * global shapes as torch_dist saves them), optionally the distributed optimizer's per-parameter state in Megatron's
 * {@code fully_reshardable} form ({@code optimizer.state.<state>.<model key>}, fp32, each the global shape of its
 * model key), the common state to save (args, iteration, scheduler, {@code optimizer} param groups and
 * {@code param_state_sharding_type}, content metadata), and ShardedObjects copied as they are. Readers of other
 * sources (dp_reshardable buckets, legacy {@code distrib_optim.pt}) produce one; {@link ReshardPlan} chunks it for a
 * target layout.
 *
 * @param path        the source, named in errors
 * @param iteration   the iteration directory name to write ({@code iter_0000004} or {@code release})
 * @param tracker     the tracker file's text ({@code 4} or {@code release})
 * @param layout      the saving job's TP/PP (the default target)
 * @param optimizer   per-parameter optimizer tensors; empty when none is written
 * @param items       ShardedObjects ({@code _extra_state}, RNG and rerun state…) to copy, with the rank that wrote them
 * @param commonPt    write the common state as {@code common.pt} (core ≤ 0.18 sources) rather than the DCP item
 * @param sourceOptimizer the source's optimizer format (null when it has none), for the summary
 */
public record ReshardInput(Path path, String iteration, String tracker, Long iterationNumber, Layout layout, Model model,
                            List<GlobalTensor> tensors, List<GlobalTensor> optimizer, PyDict common,
                            List<MegatronSave.RawItem> items, byte[] metadataJson, boolean commonPt, String sourceOptimizer) {
    public ReshardInput {
        tensors = List.copyOf(tensors);
        optimizer = List.copyOf(optimizer);
        items = List.copyOf(items);
    }

    /** Tensor/pipeline parallel sizes. */
    public record Layout(int tp, int pp) {
    }

    /**
     * What the chunking needs to know of the architecture.
     *
     * @param vocabSize        the tokenizer's vocab (null: unknown, padding not checked)
     * @param vocabDivisibleBy {@code make_vocab_size_divisible_by} (null: unknown)
     */
    public record Model(long layers, boolean gatedLinearUnit, boolean tiedEmbeddings, long heads, long queryGroups,
                        Long vocabSize, Long vocabDivisibleBy) {
    }
}
