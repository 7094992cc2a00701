package ckpt.convert.reshard;

import ckpt.convert.exec.MegatronSave;
import ckpt.convert.index.GlobalTensor;
import ckpt.convert.index.TpSplit;
import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.CopyItem;
import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.TensorSlice;
import ckpt.format.FormatException;
import ckpt.format.megatron.MegatronKeys;
import ckpt.format.tensor.Box;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@link ReshardInput} cut into the chunks each rank of a target TP × PP job saves, as Megatron's
 * {@code torch_dist} would: every model tensor and its optimizer tensors with the same TP split (the optimizer's
 * ShardedTensors reuse the model's sharding, {@code distrib_optimizer.py} {@code sharded_param_state_fully_reshardable});
 * stacked layers by stage; replicated chunks once, by TP rank 0; DP rank 0 writes (rank = tp + TP·stage). A plan item
 * is a box copy from the source's global tensor into one chunk.
 *
 * @param items the ShardedObjects with the rank that writes them in the target layout
 */
public record ReshardPlan(ConversionPlan plan, List<MegatronSave.RawItem> items, int tp, int pp, int modelTensors,
                          int optimizerTensors) {
    private static final Pattern EXTRA = Pattern.compile("(.+)/shard_(\\d{1,18})(?:\\.\\d+)*_(\\d{1,18})(?:\\.\\d+)*");

    public static ReshardPlan of(ReshardInput src, int tp, int pp) {
        if (tp < 1 || pp < 1) throw new IllegalArgumentException("--tp and --pp must be ≥ 1");
        long layers = src.model().layers();
        if (layers % pp != 0)
            throw new FormatException(src.path(), layers + " layers do not split evenly into --pp " + pp + " stages");
        checkTp(src, tp);
        List<OutputTensor> out = new ArrayList<>();
        for (GlobalTensor t : src.tensors()) chunks(src, t, t.key(), tp, pp, out);
        for (GlobalTensor t : src.optimizer()) {
            String key = MegatronKeys.optimizerModelKey(t.key())
                    .orElseThrow(() -> new FormatException(src.path(), "optimizer tensor " + t.key() + " names no model key"));
            chunks(src, t, key, tp, pp, out);
        }
        List<MegatronSave.RawItem> items = new ArrayList<>();
        for (MegatronSave.RawItem it : src.items()) items.add(new MegatronSave.RawItem(it.key(), itemRank(it, layers, tp, pp), it.payload()));
        return new ReshardPlan(new ConversionPlan(out), items, tp, pp, src.tensors().size(), src.optimizer().size());
    }

    /** What Megatron itself requires of a TP size for this model (it could not load the output otherwise). */
    private static void checkTp(ReshardInput src, int tp) {
        ReshardInput.Model m = src.model();
        if (m.heads() % tp != 0 || m.queryGroups() % tp != 0)
            throw new FormatException(src.path(), m.heads() + " attention heads / " + m.queryGroups()
                    + " query groups do not split evenly over --tp " + tp);
        if (m.vocabSize() != null && m.vocabDivisibleBy() != null) {
            long multiple = m.vocabDivisibleBy() * tp;
            long padded = Math.ceilDiv(m.vocabSize(), multiple) * multiple;
            for (GlobalTensor t : src.tensors())
                if ((t.key().equals("embedding.word_embeddings.weight") || t.key().equals("output_layer.weight")) && t.dim(0) != padded)
                    throw new FormatException(src.path(), "at --tp " + tp + " Megatron pads the vocab of " + m.vocabSize() + " to "
                            + padded + " rows (make_vocab_size_divisible_by " + m.vocabDivisibleBy() + " × TP), but " + t.key()
                            + " has " + t.dim(0) + ": Megatron could not load it at that TP");
        }
    }

    /**
     * Per-layer ShardedObjects ({@code …_extra_state/shard_<layer>_<layers>}) go to TP rank 0 of their layer's stage;
     * the rest (RNG, rerun state) keep their rank where it still exists, else rank 0. Which file holds an item does not
     * matter to DCP's loader; this only mirrors a target job's own save.
     */
    private static int itemRank(MegatronSave.RawItem it, long layers, int tp, int pp) {
        Matcher m = EXTRA.matcher(it.key());
        if (it.key().contains("._extra_state") && m.matches() && Long.parseLong(m.group(3)) == layers) {
            long layer = Long.parseLong(m.group(2));
            return Math.toIntExact(tp * (layer / (layers / pp)));
        }
        return it.rank() < tp * pp ? it.rank() : 0;
    }

    private static void chunks(ReshardInput src, GlobalTensor t, String modelKey, int tp, int pp, List<OutputTensor> out) {
        long layers = src.model().layers();
        boolean stacked = MegatronKeys.isStackedLayerKey(modelKey);
        if (MegatronKeys.isStackedExpertKey(modelKey))
            throw new FormatException(src.path(), modelKey + ": expert tensors are not supported by ckpt reshard yet");
        long[] g = t.shape();
        int lead = stacked ? 1 : 0;
        if (stacked && (g.length == 0 || g[0] != layers))
            throw new FormatException(src.path(), t.key() + " " + Arrays.toString(g) + " is not stacked over the " + layers + " layers");
        TpSplit split = TpSplit.forKey(modelKey, src.model().gatedLinearUnit());
        if (split == null) {
            if (tp > 1) throw new FormatException(src.path(), "no tensor-parallel rule for " + modelKey + ": cannot split it for --tp " + tp);
            split = TpSplit.REPLICATED;
        }
        long[] module = Arrays.copyOfRange(g, lead, g.length);
        long[] local = module.clone();
        if (split != TpSplit.REPLICATED) {
            int axis = split.axis();
            long parts = split == TpSplit.GLU_COLUMN ? 2L * tp : tp;
            if (module.length <= axis || module[axis] % parts != 0)
                throw new FormatException(src.path(), t.key() + " " + Arrays.toString(g) + " does not split into " + parts
                        + " equal parts for --tp " + tp);
            local[axis] /= tp;
        }
        long perStage = layers / pp;
        long count = stacked ? layers : 1;
        for (long l = 0; l < count; l++) {
            long stage = stacked ? l / perStage : modelKey.startsWith("embedding.") ? 0 : pp - 1;
            long[] prefix = stacked ? new long[]{l} : new long[0];
            long[] sizes = stacked ? new long[]{layers} : new long[0];
            int ranks = split == TpSplit.REPLICATED ? 1 : tp;
            for (int r = 0; r < ranks; r++) {
                TpSplit.Placement place = split.place(prefix, sizes, local, r, ranks);
                for (TpSplit.Part part : place.parts()) {
                    Box box = part.box();
                    long[] shape = Arrays.copyOfRange(box.sizes(), lead, box.rank());
                    CopyItem copy = new CopyItem(new TensorSlice(t, box, lead), Box.whole(shape), false);
                    out.add(new OutputTensor(t.key() + Arrays.toString(box.offsets()), t.dtype(), shape, t.dtype(), List.of(copy),
                            new OutputTensor.Chunk(t.key(), g, box, Math.toIntExact(r + (long) tp * stage))));
                }
            }
        }
    }
}
