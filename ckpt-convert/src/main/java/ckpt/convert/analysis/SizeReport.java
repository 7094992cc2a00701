package ckpt.convert.analysis;

import java.util.List;
import java.util.Map;

/**
 * Where the bytes of a checkpoint go (built by {@link SizeAnalyzer}). {@code byCategory} names every byte class and
 * adds up exactly to {@code totalBytes}; {@code expected} sets the first-principles estimate next to the actual size
 * and splits the difference; {@code converted} says what the weights alone weigh.
 *
 * @param totalBytes    bytes of the checkpoint's files (for absent data files: the size the metadata implies)
 * @param parameters    model weights' elements, each weight counted once (padded vocab rows included)
 * @param byCategory    byte class → bytes, in a fixed order; see {@link #describe(String)}
 * @param dataPresent   false when data files the metadata references are not on disk
 * @param tensorRecords distinct stored records holding tensor pieces
 * @param objectRecords records holding pickled non-tensor objects
 * @param files         per data file: how its bytes split
 * @param explanation   sentences for people
 */
public record SizeReport(long totalBytes, long parameters, Map<String, Long> byCategory, boolean dataPresent,
                         long tensorRecords, long objectRecords, Expected expected, Converted converted,
                         List<FileBytes> files, List<String> explanation) {
    public static final String MODEL_WEIGHTS_PREFIX = "model_weights_";
    public static final String OPTIMIZER_MASTER = "optimizer_master";
    public static final String OPTIMIZER_EXP_AVG = "optimizer_exp_avg";
    public static final String OPTIMIZER_EXP_AVG_SQ = "optimizer_exp_avg_sq";
    public static final String OPTIMIZER_OTHER = "optimizer_other";
    /** Flat-buffer elements that belong to no parameter (DeepSpeed's partition and alignment padding). */
    public static final String PADDING = "padding";
    public static final String COMMON_STATE = "common_state";
    public static final String RNG_STATE = "rng_state";
    public static final String EXTRA_STATE = "extra_state";
    public static final String OTHER_STATE = "other_state";
    public static final String CONTAINER_OVERHEAD = "container_overhead";
    public static final String METADATA_FILES = "metadata_files";
    public static final String OTHER_FILES = "other_files";
    /** Negative: bytes the metadata places in data files that are shorter than that (damaged checkpoint). */
    public static final String TRUNCATED = "truncated";
    /** Only in {@link Expected#difference()}: optimizer elements beyond (or short of) one per parameter. */
    public static final String OPTIMIZER_BEYOND_PARAMETERS = "optimizer_state_beyond_parameters";

    public SizeReport {
        byCategory = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(byCategory));
        files = List.copyOf(files);
        explanation = List.copyOf(explanation);
    }

    /**
     * @param bytesPerParameter component → bytes per parameter (weights at their saved dtype, each optimizer kind)
     * @param bytes             parameters × the sum of those
     * @param differenceBytes   totalBytes − bytes
     * @param difference        byte class → its share of the difference; adds up to differenceBytes
     */
    public record Expected(Map<String, Number> bytesPerParameter, Number totalBytesPerParameter, long bytes,
                           long differenceBytes, Map<String, Long> difference) {
        public Expected {
            bytesPerParameter = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(bytesPerParameter));
            difference = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(difference));
        }
    }

    /**
     * What the weights weigh once converted (tensor bytes only; a safetensors header adds a few kB).
     *
     * @param savedDtypeBytes  weights at the dtype(s) they were saved in
     * @param vocabPaddingRows embedding rows beyond the tokenizer vocab (null when the vocab is unknown)
     * @param hfParameters     parameters once padding rows are trimmed (a Hugging Face export does that)
     */
    public record Converted(String savedDtype, long savedDtypeBytes, long bfloat16Bytes, long float32Bytes,
                            Long vocabPaddingRows, long hfParameters, long hfBfloat16Bytes, long hfFloat32Bytes) {
    }

    /** One data file: tensor payload + object records + container overhead = bytes (overhead never negative). */
    public record FileBytes(String name, long bytes, boolean present, long tensorPayload, long objectBytes,
                            long overhead) {
    }

    /** A person-readable name of a {@link #byCategory} key. */
    public static String describe(String key) {
        if (key.startsWith(MODEL_WEIGHTS_PREFIX)) return "model weights (" + key.substring(MODEL_WEIGHTS_PREFIX.length()) + ")";
        return switch (key) {
            case OPTIMIZER_MASTER -> "master weights (fp32 copy kept by the optimizer)";
            case OPTIMIZER_EXP_AVG -> "Adam exp_avg";
            case OPTIMIZER_EXP_AVG_SQ -> "Adam exp_avg_sq";
            case OPTIMIZER_OTHER -> "other optimizer state";
            case PADDING -> "padding (flat partitions)";
            case COMMON_STATE -> "common state (args, iteration, scheduler)";
            case RNG_STATE -> "RNG state";
            case EXTRA_STATE -> "module _extra_state";
            case OTHER_STATE -> "other state";
            case CONTAINER_OVERHEAD -> "container overhead";
            case METADATA_FILES -> "metadata files";
            case OTHER_FILES -> "other files";
            case TRUNCATED -> "missing (truncated files)";
            case OPTIMIZER_BEYOND_PARAMETERS -> "optimizer state beyond one element per parameter";
            default -> key;
        };
    }
}
