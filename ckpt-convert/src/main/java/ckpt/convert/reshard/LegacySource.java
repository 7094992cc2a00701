package ckpt.convert.reshard;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.LegacyIndexer;
import ckpt.format.FormatException;
import ckpt.format.megatron.ModelConfig;
import ckpt.format.megatron.ParallelLayout;
import ckpt.format.megatron.legacy.LegacyIteration;
import ckpt.format.pickle.PyDict;

import ckpt.convert.exec.MegatronSave;
import ckpt.format.megatron.legacy.LegacyRank;
import ckpt.format.torchsave.TensorRef;
import ckpt.format.torchsave.TorchSaveWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A legacy Megatron {@code --ckpt-format torch} iteration ({@code mp_rank_*}) as a {@link ReshardInput}: the model and
 * the per-parameter optimizer state {@link LegacyOptimizerIndexer} rebuilds, and the common state of a
 * {@code torch_dist} save built from rank 0's {@code model_optim_rng.pt} (args, iteration, checkpoint version, LR
 * scheduler, FLOPs so far, the optimizer's param groups as {@code fully_reshardable}).
 *
 * <p>The RNG state is not carried over: legacy files keep it per rank as a pickled list, and Megatron ignores it anyway
 * at another TP/PP. The args say {@code no_save_rng}, which is how Megatron itself marks a save without RNG state, so
 * that a resume at the same layout does not look for it.
 *
 * <p>Each layer's {@code _extra_state} (Transformer Engine's FP8 metadata; {@code None} or an empty tensor without
 * FP8) becomes the ShardedObject torch_dist saves for it, {@code decoder.layers.<module>._extra_state/shard_<layer>_<layers>},
 * from TP rank 0 (Megatron saves it replicated over TP). Extra state that holds data (FP8 scaling history) is refused
 * in one line rather than dropped; the output layer's, which Megatron keeps local, is left out as Megatron does.
 */
public final class LegacySource {
    /** What core ≥ 0.19 writes next to a torch_dist iteration (the backend, not the source's format). */
    private static final byte[] METADATA_JSON = "{\"sharded_backend\": \"torch_dist\", \"sharded_backend_version\": 1}"
            .getBytes(StandardCharsets.UTF_8);
    /** The summary's name for the source's optimizer format. */
    static final String FORMAT = "distrib_optim.pt";
    /** A layer's extra state in a rank's model state dict: local layer number, module path. */
    private static final Pattern LAYER_EXTRA = Pattern.compile("decoder\\.layers\\.(\\d{1,9})\\.(.+\\._extra_state)");

    private LegacySource() {
    }

    /**
     * Opens {@code legacy} (an index {@code Checkpoints.open} built for a legacy iteration; the returned source owns it
     * and it is closed here if this fails) as a {@link ReshardSource}: with optimizer state unless {@code choice} drops
     * it or the save has none ({@code --no-save-optim}).
     */
    public static ReshardSource open(CheckpointIndex legacy, OptimizerChoice choice) {
        LegacyIteration it;
        try {
            it = LegacyIndexer.iteration(legacy).orElseThrow(() -> new IllegalArgumentException(
                    legacy.path() + " is " + legacy.format() + ", not a legacy torch-format checkpoint"));
        } catch (RuntimeException e) {
            legacy.close();
            throw e;
        }
        // A save without optimizer state (no_save_optim) has neither distrib_optim.pt nor an 'optimizer' entry; one
        // saved without the distributed optimizer has the entry, and the indexer refuses it with a clear line.
        boolean has = it.hasDistributedOptimizerState() || it.ranks().getFirst().state().containsKey("optimizer");
        return LegacyOptimizerIndexer.of(legacy, choice == OptimizerChoice.FULLY_RESHARDABLE && has);
    }

    /** The input {@link Resharder#write} takes; {@code src} stays open (its tensors are views over its files). */
    public static ReshardInput read(ReshardSource src) {
        CheckpointIndex index = src.model();
        LegacyIteration it = LegacyIndexer.iteration(index).orElseThrow();
        Path dir = it.dir();
        ModelConfig c = it.model();
        if (c == null || c.numLayers() <= 0)
            throw new FormatException(dir, "the saved args name no layers: the model cannot be resharded");
        if (c.isMoe()) throw new FormatException(dir, "mixture-of-experts models are not supported by ckpt reshard yet");
        ParallelLayout pl = it.parallelism();
        if (pl.virtualPipeline() != null && pl.virtualPipeline() > 1)
            throw new FormatException(dir, "virtual pipeline stages (" + pl.virtualPipeline() + ") are not supported by ckpt reshard yet");
        ReshardInput.Model model = new ReshardInput.Model(c.numLayers(), c.gatedLinearUnit(), c.tiedEmbeddings(),
                c.numAttentionHeads(), c.numQueryGroups(), c.vocabSize(), c.makeVocabSizeDivisibleBy());

        PyDict common = new PyDict();
        for (Map.Entry<String, Object> e : src.optimizerCommon().entrySet())
            if (!e.getKey().equals("optimizer")) common.put(e.getKey(), e.getValue());
        boolean withOptimizer = !src.optimizerState().isEmpty();
        if (withOptimizer) {
            if (!(src.optimizerCommon().get("optimizer") instanceof PyDict o) || !o.containsKey("optimizer"))
                throw new FormatException(dir.resolve(it.ranks().getFirst().modelFileName()),
                        "has no optimizer entry with param groups next to its distrib_optim.pt");
            common = CommonState.fullyReshardable(common, CommonState.copy(o, "param_state_sharding_type"));
        } else {
            common = CommonState.withoutOptimizer(common);
        }
        common = CommonState.withArg(common, "no_save_rng", true);

        String name = dir.getFileName().toString();
        Long iteration = it.iteration();
        String tracker = name.equals("release") || iteration == null ? "release" : String.valueOf(iteration);
        return new ReshardInput(dir, name, tracker, iteration,
                new ReshardInput.Layout(it.tensorParallel(), it.pipelineParallel()), model, src.modelTensors(),
                src.optimizerState(), common, extraStates(it, c.numLayers()), METADATA_JSON, false, it.hasDistributedOptimizerState() ? FORMAT : null);
    }

    private static List<MegatronSave.RawItem> extraStates(LegacyIteration it, long layers) {
        int chunks = it.pipelineSplit().chunksPerStage();
        Map<String, MegatronSave.RawItem> out = new TreeMap<>();
        for (LegacyRank r : it.ranks()) {
            if (r.id().tp() != 0 || r.id().ep() != 0) continue;
            List<PyDict> sds = r.modelChunks(chunks);
            for (int v = 0; v < sds.size(); v++) {
                long offset = it.pipelineSplit().offset(r.id().pp(), v);
                for (Map.Entry<Object, Object> e : sds.get(v).items().entrySet()) {
                    String key = String.valueOf(e.getKey());
                    if (!LegacyIndexer.isExtraState(key)) continue;
                    Object value = extraState(it.dir().resolve(r.modelFileName()), key, e.getValue());
                    Matcher m = LAYER_EXTRA.matcher(key);
                    if (!m.matches()) continue; // output_layer's: local in Megatron's own saves
                    long layer = offset + Long.parseLong(m.group(1));
                    String item = "decoder.layers." + m.group(2) + "/shard_" + layer + "_" + layers;
                    try {
                        out.put(item, new MegatronSave.RawItem(item, 0, TorchSaveWriter.objectArchive(Collections.singletonList(value))));
                    } catch (IOException ex) {
                        throw new UncheckedIOException(ex);
                    }
                }
            }
        }
        return new ArrayList<>(out.values());
    }

    /** The value to save for an {@code _extra_state} entry: None, or an empty tensor; refused when it holds data. */
    private static Object extraState(Path file, String key, Object value) {
        if (value == null) return null;
        if (value instanceof TensorRef t && !t.isMeta() && t.numel() == 0)
            return new TorchSaveWriter.SmallTensor(t.dtype(), t.shape(), new byte[0]);
        throw new FormatException(file, key + " holds Transformer Engine extra state with data (FP8 scaling state?), "
                + "which ckpt reshard does not carry over yet");
    }
}
