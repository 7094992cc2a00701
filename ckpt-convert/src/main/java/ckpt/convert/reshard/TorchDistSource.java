package ckpt.convert.reshard;

import ckpt.format.InputText;
import ckpt.convert.exec.MegatronSave;
import ckpt.convert.index.CheckpointFormat;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.GlobalTensor;
import ckpt.format.FormatException;
import ckpt.format.dcp.DcpCheckpoint;
import ckpt.format.dcp.StorageInfo;
import ckpt.format.megatron.CheckpointingConfig;
import ckpt.format.megatron.KeyCategory;
import ckpt.format.megatron.MegatronCheckpoint;
import ckpt.format.megatron.MegatronKeys;
import ckpt.format.megatron.ModelConfig;
import ckpt.format.megatron.ParallelLayout;
import ckpt.format.pickle.PyDict;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Megatron {@code torch_dist} iteration as a {@link ReshardInput}: its model tensors; its optimizer state as
 * per-parameter {@code fully_reshardable} tensors (rebuilt from {@code dp_reshardable} buckets by
 * {@link DpReshardable}, or taken as they are from a {@code fully_reshardable} save); its common state with the
 * optimizer entries a {@code fully_reshardable} save holds; and its other ShardedObjects unchanged.
 */
public final class TorchDistSource {
    /** ShardedObjects of dp_reshardable optimizer state (param groups, bucket sizes): rebuilt, not copied. */
    private static final String DISTRIBUTED = "optimizer.distributed.";
    private static final Pattern RANK_FILE = Pattern.compile("__(\\d{1,9})_\\d+\\.distcp");

    private TorchDistSource() {
    }

    public static ReshardInput read(CheckpointIndex index, OptimizerChoice choice) throws IOException {
        if (index.format() != CheckpointFormat.MEGATRON_TORCH_DIST || !(index.resources() instanceof MegatronCheckpoint mc))
            throw new FormatException(index.path(), "ckpt reshard reads Megatron torch_dist checkpoints; this is a " + index.format().title());
        Path file = index.path();
        ModelConfig c = index.config();
        if (c == null || c.numLayers() <= 0)
            throw new FormatException(file, "the common state has no args: the model's layers are unknown");
        if (c.isMoe()) throw new FormatException(file, "mixture-of-experts models are not supported by ckpt reshard yet");
        ParallelLayout pl = index.parallelism();
        if (pl.virtualPipeline() != null && pl.virtualPipeline() > 1)
            throw new FormatException(file, "virtual pipeline stages (" + pl.virtualPipeline() + ") are not supported by ckpt reshard yet");
        int tp = Math.toIntExact(pl.tensorParallel()), pp = Math.toIntExact(pl.pipelineParallel());
        String impl = mc.args().getString("transformer_impl").orElse("transformer_engine");
        ReshardInput.Model model = new ReshardInput.Model(c.numLayers(), c.gatedLinearUnit(), c.tiedEmbeddings(),
                c.numAttentionHeads(), c.numQueryGroups(), c.vocabSize(), c.makeVocabSizeDivisibleBy());

        Map<String, GlobalTensor> weights = new LinkedHashMap<>();
        List<GlobalTensor> optimizerTensors = new ArrayList<>();
        for (GlobalTensor t : index.tensors()) {
            if (t.category() == KeyCategory.MODEL_WEIGHT) weights.put(t.key(), t);
            else if (isOptimizer(t.category())) optimizerTensors.add(t);
            else throw new FormatException(file, "tensor " + t.key() + " is neither a model weight nor optimizer state: ckpt cannot re-chunk it");
        }
        String format = optimizerTensors.isEmpty() ? null : mc.optimizerFormat();
        List<GlobalTensor> optimizer = List.of();
        PyDict common = CommonState.copy(mc.common());
        if (format != null && choice == OptimizerChoice.FULLY_RESHARDABLE) {
            PyDict optimizerEntry;
            switch (format) {
                case "dp_reshardable" -> {
                    optimizer = DpReshardable.perParameter(file, weights, index.tensors(), c.numLayers(), c.gatedLinearUnit(),
                            c.tiedEmbeddings(), impl, tp, pp);
                    optimizerEntry = new PyDict();
                    // state_dict() of DistributedOptimizer: 'optimizer' (param groups) and 'grad_scaler', saved per
                    // model-parallel rank in dp_reshardable; a fully_reshardable save holds rank 0's in the common state.
                    for (String k : List.of("optimizer", "grad_scaler")) {
                        String item = DISTRIBUTED + "dp_group_idx_0." + k + "/shard_0_1";
                        if (mc.dcp().metadata().bytesItems().contains(item)) optimizerEntry.put(k, shardedObject(mc.dcp(), item));
                    }
                    if (!optimizerEntry.containsKey("optimizer"))
                        throw new FormatException(file, "no " + DISTRIBUTED + "dp_group_idx_0.optimizer item: the optimizer's param groups are missing");
                }
                case "fully_reshardable" -> {
                    for (GlobalTensor t : optimizerTensors) {
                        String key = MegatronKeys.optimizerModelKey(t.key()).orElse(null);
                        GlobalTensor w = key == null ? null : weights.get(key);
                        if (w == null || !Arrays.equals(w.shape(), t.shape()) || !t.key().startsWith("optimizer.state."))
                            throw new FormatException(file, "optimizer tensor " + t.key() + " does not match a model key's global shape");
                    }
                    optimizer = optimizerTensors;
                    if (!(mc.common().get("optimizer") instanceof PyDict o))
                        throw new FormatException(file, "the common state has no optimizer entry (param groups)");
                    optimizerEntry = CommonState.copy(o);
                }
                default -> throw new FormatException(file, "optimizer state in '" + InputText.excerpt(format) + "' form cannot be resharded by ckpt"
                        + " yet (dp_reshardable and fully_reshardable can); pass --optimizer drop to reshard the model only");
            }
            common = CommonState.fullyReshardable(common, optimizerEntry);
        } else if (format != null || mc.common().containsKey("optimizer")) {
            common = CommonState.withoutOptimizer(common);
        }

        List<MegatronSave.RawItem> items = new ArrayList<>();
        for (String key : mc.dcp().metadata().bytesItems()) {
            if (key.equals(MegatronCheckpoint.COMMON_ITEM) || key.startsWith(DISTRIBUTED) || key.contains("." + DISTRIBUTED)) continue;
            StorageInfo info = mc.dcp().metadata().storageOf(key);
            MemorySegment bytes = mc.dcp().itemBytes(key, info);
            Matcher m = RANK_FILE.matcher(info.relativePath());
            int rank = m.matches() ? Integer.parseInt(m.group(1)) : 0;
            items.add(new MegatronSave.RawItem(key, rank, bytes.toArray(ValueLayout.JAVA_BYTE)));
        }
        Path iterDir = mc.dir();
        String iterName = iterDir.getFileName().toString();
        Long it = index.iteration();
        String tracker = iterName.equals("release") ? "release" : String.valueOf(it);
        byte[] metadataJson = Files.readAllBytes(iterDir.resolve(CheckpointingConfig.FILE));
        boolean commonPt = MegatronCheckpoint.COMMON_PT.equals(mc.commonSource());
        return new ReshardInput(file, iterName, tracker, it, new ReshardInput.Layout(tp, pp), model,
                new ArrayList<>(weights.values()), optimizer, common, items, metadataJson, commonPt, format);
    }

    private static boolean isOptimizer(KeyCategory c) {
        return c == KeyCategory.OPTIMIZER_MASTER || c == KeyCategory.OPTIMIZER_EXP_AVG || c == KeyCategory.OPTIMIZER_EXP_AVG_SQ
                || c == KeyCategory.OPTIMIZER_OTHER;
    }

    private static Object shardedObject(DcpCheckpoint dcp, String key) {
        Object payload = dcp.readObject(key);
        // A ShardedObject is saved as torch.save([value]) (FORMATS.md §4.3).
        if (payload instanceof List<?> l && l.size() == 1) return l.getFirst();
        throw FormatException.atKey(dcp.dir(), key, "ShardedObject payload is not a one-element list");
    }
}
