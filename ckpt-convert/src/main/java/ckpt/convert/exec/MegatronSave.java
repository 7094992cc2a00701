package ckpt.convert.exec;

import ckpt.convert.plan.ConversionPlan;

import java.util.List;

/**
 * A Megatron-core {@code torch_dist} save dir to write, whoever plans it ({@code convert --format megatron} from an HF
 * model, {@code reshard} from a training checkpoint): the tracker {@code latest_checkpointed_iteration.txt} with
 * {@code tracker}, and the {@code iteration} directory ({@code iter_0000004}, {@code release}) with one
 * {@code __<rank>_0.distcp} per rank — the {@code items} (bytes, in order, rank by rank) before the plan's tensor
 * chunks (each tensor's {@link ckpt.convert.plan.OutputTensor.Chunk} places it), as torch writes a rank's bytes items
 * first — then {@code .metadata}, {@code metadata.json} and, for core ≤ 0.18 saves, {@code common.pt}.
 *
 * @param commonPt the {@code common.pt} archive ({@code torch.save} of the common state) for core ≤ 0.18 saves; null
 *                 when the common state is the {@code common_state/shard_0_1} item (core ≥ 0.19), one of {@code items}
 * @param saveId   {@code storage_meta.save_id} of {@code .metadata}: derived from the plan so the same job gives the
 *                 same bytes in one process or in parts (torch draws a random one per save; nothing reads it back)
 */
public record MegatronSave(String iteration, String tracker, byte[] metadataJson, byte[] commonPt, List<RawItem> items,
                           ConversionPlan plan, String saveId) {
    public MegatronSave {
        items = List.copyOf(items);
    }

    /** A ShardedObject's saved bytes ({@code torch.save} of its value), written verbatim into rank {@code rank}'s file. */
    public record RawItem(String key, int rank, byte[] payload) {
    }
}
