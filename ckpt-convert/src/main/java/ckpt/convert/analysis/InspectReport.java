package ckpt.convert.analysis;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.GlobalTensor;
import ckpt.format.megatron.MegatronKeys;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * What {@code ckpt inspect --json} prints: schema {@value #SCHEMA}, documented in {@code docs/INSPECT_JSON.md}.
 * Built from metadata only. Field names are snake_case in JSON ({@link InspectJson}); fields may be added in later
 * versions of the same schema, never renamed or removed.
 *
 * @param dataPresent false when data files the metadata references are not on disk
 * @param config      null when neither args nor shapes tell the architecture (e.g. a plain DCP of an unknown model)
 * @param parallelism null when nothing tells it
 * @param tensors     in checkpoint order; only those matching the filter, if any
 * @param objects     non-tensor entries; only those matching the filter, if any
 * @param size        the size analysis of the whole checkpoint (never filtered)
 * @param hfConfig    a Hugging Face dir's config.json as declared; null for other formats or without one
 */
public record InspectReport(String schema, String path, String format, String formatTitle, String era, Long iteration,
                            boolean dataPresent, ModelSummary config, ParallelSummary parallelism,
                            Map<String, Object> details, List<TensorInfo> tensors, List<ObjectInfo> objects,
                            List<FileInfo> files, SizeReport size, HfConfig hfConfig) {
    public static final String SCHEMA = "ckpt.inspect/1";

    /**
     * @param dtype         PyTorch name without {@code torch.} ({@code bfloat16})
     * @param chunks        stored pieces that tile the tensor
     * @param bytes         elements × element size (payload, no container)
     * @param stackedLayers the leading layer axis of a Megatron stacked per-layer tensor; null otherwise
     */
    public record TensorInfo(String key, String dtype, long[] shape, int chunks, long bytes, String category,
                             Long stackedLayers) {
    }

    /** @param bytes the object's whole record (a pickled torch.save archive in DCP) */
    public record ObjectInfo(String key, long bytes, String category, String file) {
    }

    /** @param present false for a data file the metadata references that is not on disk (bytes: what it implies) */
    public record FileInfo(String name, long bytes, boolean present, boolean referenced) {
    }

    public static InspectReport of(CheckpointIndex index) {
        return of(index, k -> true);
    }

    /** @param keyFilter selects the tensors and objects listed; the size analysis always covers everything */
    public static InspectReport of(CheckpointIndex index, Predicate<String> keyFilter) {
        ModelSummary model = ModelSummaries.of(index).orElse(null);
        List<TensorInfo> tensors = index.tensors().stream().filter(t -> keyFilter.test(t.key())).map(InspectReport::info).toList();
        List<ObjectInfo> objects = index.objects().stream().filter(o -> keyFilter.test(o.key()))
                .map(o -> new ObjectInfo(o.key(), o.bytes(), o.category().jsonName(), o.file())).toList();
        List<FileInfo> files = index.files().stream()
                .map(f -> new FileInfo(f.name(), f.bytes(), f.present(), f.referenced())).toList();
        return new InspectReport(SCHEMA, index.path().toString(), index.format().jsonName(), index.format().title(),
                index.era(), index.iteration(), index.dataPresent(), model, ParallelSummary.of(index).orElse(null),
                plainDetails(index.details()), tensors, objects, files, SizeAnalyzer.analyze(index, model),
                HfConfig.of(index).orElse(null));
    }

    private static TensorInfo info(GlobalTensor t) {
        return new TensorInfo(t.key(), t.dtype().torchName(), t.shape(), t.pieces().size(), t.byteSize(),
                t.category().jsonName(), stackedLayers(t));
    }

    /** Megatron stacks per-layer weights (and, in model-space optimizer formats, their state) on a leading axis. */
    static Long stackedLayers(GlobalTensor t) {
        String model = MegatronKeys.optimizerModelKey(t.key()).orElse(t.key());
        return MegatronKeys.isStackedLayerKey(model) && t.rank() >= 1 ? t.dim(0) : null;
    }

    /** Details as JSON-safe values: numbers, booleans and strings as they are, anything else as its text. */
    private static Map<String, Object> plainDetails(Map<String, Object> details) {
        Map<String, Object> m = new LinkedHashMap<>();
        details.forEach((k, v) -> m.put(k, v == null || v instanceof Number || v instanceof Boolean || v instanceof String
                ? v : String.valueOf(v)));
        return m;
    }
}
