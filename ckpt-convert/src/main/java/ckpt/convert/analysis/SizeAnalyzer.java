package ckpt.convert.analysis;

import ckpt.convert.index.CheckpointFormat;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.FileEntry;
import ckpt.convert.index.GlobalTensor;
import ckpt.convert.index.ObjectEntry;
import ckpt.convert.index.PieceRecords;
import ckpt.format.megatron.KeyCategory;
import ckpt.format.tensor.DType;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import static ckpt.convert.analysis.SizeReport.*;
import static ckpt.convert.analysis.Units.full;
import static ckpt.convert.analysis.Units.grouped;

/**
 * Accounts for every byte of a checkpoint from its metadata alone: tensor payloads (elements × element size) by
 * category, pickled objects (whole records), container overhead (what remains of each data file: torch.save zip
 * headers, alignment padding, central directories), and the files that hold no records. Works on any
 * {@link CheckpointIndex}; absent data files count at the size their records imply, so a metadata-only copy of a
 * 100 GB checkpoint is analysed exactly.
 */
public final class SizeAnalyzer {
    private SizeAnalyzer() {
    }

    public static SizeReport analyze(CheckpointIndex index) {
        return analyze(index, ModelSummaries.of(index).orElse(null));
    }

    public static SizeReport analyze(CheckpointIndex index, ModelSummary model) {
        return new Run(index, model).report();
    }

    /** One analysis: accumulators filled from the index, then turned into the report. */
    private static final class Run {
        private final CheckpointIndex index;
        private final ModelSummary model;
        private final Map<String, Long> tensorBytes = new LinkedHashMap<>();   // byte class → payload
        private final Map<KeyCategory, Long> numelByCategory = new TreeMap<>();
        private final Map<KeyCategory, DType> dtypeByCategory = new TreeMap<>();
        private final Map<String, Long> objectBytes = new LinkedHashMap<>();
        private final RecordTally records;                                  // payload and records by file
        private final Map<String, Long> objectsByFile = new TreeMap<>();
        private final Map<KeyCategory, Integer> objectCounts = new TreeMap<>();
        private long parameters;

        Run(CheckpointIndex index, ModelSummary model) {
            this.index = index;
            this.model = model;
            long pieces = 0;
            for (GlobalTensor t : index.tensors()) pieces += t.pieceRecords().size();
            this.records = new RecordTally((int) Math.min(pieces, Integer.MAX_VALUE / 2));
        }

        SizeReport report() {
            for (GlobalTensor t : index.tensors()) {
                String cls = byteClass(t.category(), t.dtype());
                numelByCategory.merge(t.category(), t.numel(), Long::sum);
                dtypeByCategory.putIfAbsent(t.category(), t.dtype());
                if (t.category() == KeyCategory.MODEL_WEIGHT) parameters = Math.addExact(parameters, t.numel());
                PieceRecords pieces = t.pieceRecords();
                long tensorPayload = 0;
                for (int i = 0; i < pieces.size(); i++) {
                    long payload = Math.multiplyExact(pieces.numel(i), t.dtype().byteSize());
                    tensorPayload += payload;
                    records.add(pieces.file(i), payload, pieces.offset(i), pieces.length(i));
                }
                if (pieces.size() > 0) tensorBytes.merge(cls, tensorPayload, Long::sum);
            }
            // A reader that knows the parameter count better than the saved weights tell (DeepSpeed ZeRO-3 saves no
            // 16-bit weights, only placeholders) says so.
            if (index.details().get("parameters") instanceof Long n) parameters = n;
            for (ObjectEntry o : index.objects()) {
                objectBytes.merge(byteClass(o.category(), null), o.bytes(), Long::sum);
                objectsByFile.merge(o.file(), o.bytes(), Long::sum);
                objectCounts.merge(o.category(), 1, Integer::sum);
            }

            Map<String, Long> other = new LinkedHashMap<>();    // non-record files by class
            List<FileBytes> files = new ArrayList<>();
            long overhead = 0, shortfall = 0;
            Set<String> dataFiles = new TreeSet<>(records.files());
            dataFiles.addAll(objectsByFile.keySet());
            for (FileEntry f : index.files()) if (f.referenced()) dataFiles.add(f.name());
            Map<String, FileEntry> entries = new LinkedHashMap<>();
            for (FileEntry f : index.files()) entries.put(f.name(), f);
            long total = 0;
            for (FileEntry f : index.files()) {
                total += f.bytes();
                if (!dataFiles.contains(f.name())) other.merge(fileClass(f.name()), f.bytes(), Long::sum);
            }
            for (String name : dataFiles) {
                FileEntry f = entries.get(name);
                long bytes = f == null ? 0 : f.bytes();
                long payload = records.payload(name), objs = objectsByFile.getOrDefault(name, 0L);
                long rest = bytes - payload - objs;
                if (rest >= 0) overhead += rest;
                else shortfall += rest;
                files.add(new FileBytes(name, bytes, f != null && f.present(), payload, objs, Math.max(0, rest)));
            }

            Map<String, Long> byCategory = new LinkedHashMap<>();
            tensorBytes.keySet().stream().filter(k -> k.startsWith(MODEL_WEIGHTS_PREFIX)).sorted()
                    .forEach(k -> byCategory.put(k, tensorBytes.get(k)));
            for (String k : List.of(OPTIMIZER_MASTER, OPTIMIZER_EXP_AVG, OPTIMIZER_EXP_AVG_SQ, OPTIMIZER_OTHER, PADDING,
                    COMMON_STATE, RNG_STATE, EXTRA_STATE, OTHER_STATE)) {
                byCategory.put(k, tensorBytes.getOrDefault(k, 0L) + objectBytes.getOrDefault(k, 0L) + other.getOrDefault(k, 0L));
            }
            byCategory.put(CONTAINER_OVERHEAD, overhead);
            byCategory.put(METADATA_FILES, other.getOrDefault(METADATA_FILES, 0L));
            byCategory.put(OTHER_FILES, other.getOrDefault(OTHER_FILES, 0L));
            if (shortfall != 0) byCategory.put(TRUNCATED, shortfall);

            int tensorRecords = records.distinctRecords();
            Expected expected = expected(total, byCategory);
            Converted converted = converted(byCategory);
            return new SizeReport(total, parameters, byCategory, index.dataPresent(), tensorRecords,
                    index.objects().size(), expected, converted, files,
                    new Explainer(index, model, total, parameters, byCategory, expected, converted, tensorRecords,
                            objectCounts, numelByCategory.getOrDefault(KeyCategory.OPTIMIZER_MASTER,
                            numelByCategory.getOrDefault(KeyCategory.OPTIMIZER_EXP_AVG, 0L))).sentences());
        }

        private static String byteClass(KeyCategory c, DType dtype) {
            return switch (c) {
                case MODEL_WEIGHT -> MODEL_WEIGHTS_PREFIX + (dtype == null ? "unknown" : dtype.torchName());
                case OPTIMIZER_MASTER -> OPTIMIZER_MASTER;
                case OPTIMIZER_EXP_AVG -> OPTIMIZER_EXP_AVG;
                case OPTIMIZER_EXP_AVG_SQ -> OPTIMIZER_EXP_AVG_SQ;
                case OPTIMIZER_OTHER -> OPTIMIZER_OTHER;
                case PADDING -> PADDING;
                case EXTRA_STATE -> EXTRA_STATE;
                case RNG_STATE -> RNG_STATE;
                case COMMON_STATE -> COMMON_STATE;
                case OTHER -> OTHER_STATE;
            };
        }

        /** Files that hold no records: DCP/Megatron/HF metadata, Megatron's common.pt, anything else. */
        private static String fileClass(String name) {
            if (name.equals(".metadata") || name.equals("metadata.json") || name.equals("integrity.json")
                    || name.endsWith(".index.json") || name.equals("latest_checkpointed_iteration.txt"))
                return METADATA_FILES;
            if (name.equals("common.pt")) return COMMON_STATE;
            return OTHER_FILES;
        }

        private int elementBytes(KeyCategory c) {
            DType d = dtypeByCategory.get(c);
            return d == null ? 0 : d.byteSize();
        }

        private Expected expected(long total, Map<String, Long> byCategory) {
            long weights = byCategory.entrySet().stream().filter(e -> e.getKey().startsWith(MODEL_WEIGHTS_PREFIX))
                    .mapToLong(Map.Entry::getValue).sum();
            Map<String, Number> perParam = new LinkedHashMap<>();
            // ZeRO-3 saves no 16-bit weights (only the fp32 master): then there is no weights term.
            if (weights > 0 || elementBytes(KeyCategory.OPTIMIZER_MASTER) == 0) perParam.put("model_weights", perParameter(weights));
            long expected = weights;
            long beyond = 0;
            Map<KeyCategory, String> kinds = new LinkedHashMap<>();
            kinds.put(KeyCategory.OPTIMIZER_MASTER, OPTIMIZER_MASTER);
            kinds.put(KeyCategory.OPTIMIZER_EXP_AVG, OPTIMIZER_EXP_AVG);
            kinds.put(KeyCategory.OPTIMIZER_EXP_AVG_SQ, OPTIMIZER_EXP_AVG_SQ);
            for (var k : kinds.entrySet()) {
                int elem = elementBytes(k.getKey());
                if (elem == 0) continue;
                perParam.put(k.getValue(), elem);
                long want = Math.multiplyExact(parameters, elem);
                expected += want;
                beyond += byCategory.get(k.getValue()) - want;
            }
            Map<String, Long> diff = new LinkedHashMap<>();
            if (beyond != 0) diff.put(OPTIMIZER_BEYOND_PARAMETERS, beyond);
            for (String k : List.of(OPTIMIZER_OTHER, PADDING, COMMON_STATE, RNG_STATE, EXTRA_STATE, OTHER_STATE,
                    CONTAINER_OVERHEAD, METADATA_FILES, OTHER_FILES, TRUNCATED)) {
                long v = byCategory.getOrDefault(k, 0L);
                if (v != 0) diff.put(k, v);
            }
            long sumPerParam = expected;
            return new Expected(perParam, perParameter(sumPerParam), expected, total - expected, diff);
        }

        /** Bytes per parameter: a whole number when exact (2, 14), else a ratio rounded to 4 decimals. */
        private Number perParameter(long bytes) {
            if (parameters == 0) return 0;
            if (bytes % parameters == 0) return bytes / parameters;
            return Math.round(bytes * 10000.0 / parameters) / 10000.0;
        }

        private Converted converted(Map<String, Long> byCategory) {
            List<String> dtypes = byCategory.keySet().stream().filter(k -> k.startsWith(MODEL_WEIGHTS_PREFIX))
                    .map(k -> k.substring(MODEL_WEIGHTS_PREFIX.length())).toList();
            long saved = dtypes.stream().mapToLong(d -> byCategory.get(MODEL_WEIGHTS_PREFIX + d)).sum();
            Long rows = model == null ? null : model.paddingRows();
            long hfParams = parameters;
            if (rows != null && rows > 0 && model.hiddenSize() != null) {
                long tables = Boolean.FALSE.equals(model.tiedEmbeddings()) ? 2 : 1;
                hfParams -= rows * model.hiddenSize() * tables;
            }
            return new Converted(dtypes.size() == 1 ? dtypes.getFirst() : String.join("+", dtypes), saved,
                    parameters * 2, parameters * 4, rows, hfParams, hfParams * 2, hfParams * 4);
        }
    }

    /** The sentences: parameters, each byte class, expected vs actual, a converted model, units. */
    private record Explainer(CheckpointIndex index, ModelSummary model, long total, long parameters,
                             Map<String, Long> byCategory, Expected expected, Converted converted, int tensorRecords,
                             Map<KeyCategory, Integer> objectCounts, long optimizerElements) {
        List<String> sentences() {
            List<String> s = new ArrayList<>();
            long referenced = index.files().stream().filter(FileEntry::referenced).count();
            long absent = index.files().stream().filter(f -> f.referenced() && !f.present()).count();
            s.add("Total: " + full(total) + " in " + grouped(index.files().size()) + " files"
                    + (absent == 0 ? "." : absent == referenced
                    ? "; the data files are absent (metadata-only copy), so their sizes are those the metadata implies (the end of each file's last record)."
                    : "; " + grouped(absent) + " of " + grouped(referenced) + " data files are MISSING (damaged checkpoint), so their sizes are those the metadata implies (the end of each file's last record)."));
            String params = grouped(parameters) + " parameters (the model weights' elements, each weight counted once)";
            if (model != null && model.paddedVocabSize() != null) {
                Long rows = model.paddingRows();
                if (rows == null) params += "; the embedding has " + grouped(model.paddedVocabSize())
                        + " rows (the padded vocab; the tokenizer vocab is not known here, so padding rows cannot be told apart)";
                else if (rows > 0) params += "; they include " + grouped(rows) + " padding rows of the vocab ("
                        + grouped(model.vocabSize()) + " padded to " + grouped(model.paddedVocabSize()) + ")";
                else params += "; the vocab (" + grouped(model.vocabSize()) + ") needs no padding rows";
            }
            s.add(params + ".");
            for (var e : byCategory.entrySet()) {
                if (e.getValue() == 0) continue;
                String why = why(e.getKey());
                s.add(capitalize(SizeReport.describe(e.getKey())) + ": " + full(e.getValue()) + (why.isEmpty() ? "." : " — " + why + "."));
            }
            s.addAll(expectation());
            s.add(convertedSentence());
            if (total >= 1L << 30) {
                long duG = (total + (1L << 30) - 1) >> 30;
                s.add("du -h prints binary units: " + Units.binary(total) + " (shown as " + duG + "G); in decimal units that is "
                        + Units.decimal(total) + ".");
            }
            return s;
        }

        private String why(String key) {
            long perParam = parameters == 0 ? 0 : byCategory.get(key) / parameters;
            boolean exact = parameters != 0 && byCategory.get(key) % parameters == 0;
            String pp = exact && perParam > 0 ? perParam + " B per parameter" : "";
            return switch (key) {
                case OPTIMIZER_MASTER -> join(pp, "the optimizer's full-precision copy of the weights that updates are applied to "
                        + "(mixed-precision training keeps one: Megatron's distributed optimizer, DeepSpeed ZeRO)");
                case OPTIMIZER_EXP_AVG -> join(pp, "Adam's first moment");
                case OPTIMIZER_EXP_AVG_SQ -> join(pp, "Adam's second moment");
                case OPTIMIZER_OTHER -> count(KeyCategory.OPTIMIZER_OTHER, "optimizer objects (param groups, step counts, bucket sizes, loss scaler)");
                case PADDING -> "elements of flat partitions that hold no parameter: DeepSpeed pads each ZeRO-1/2 group to a "
                        + "multiple of 2 × world size and each ZeRO-3 parameter to a multiple of the world size, in the fp32 master "
                        + "copy and in each Adam moment alike";
                case COMMON_STATE -> "args, iteration, scheduler and other non-sharded state, pickled";
                case RNG_STATE -> count(KeyCategory.RNG_STATE, "pickled RNG state objects (Python, numpy, torch, CUDA generators)");
                case EXTRA_STATE -> count(KeyCategory.EXTRA_STATE, "pickled module _extra_state items");
                case OTHER_STATE -> count(KeyCategory.OTHER, "other pickled objects or tensors (e.g. Megatron's rerun state machine)");
                case CONTAINER_OVERHEAD -> overheadWhy();
                case METADATA_FILES -> "the checkpoint's own metadata (" + String.join(", ", metadataNames()) + ")";
                case OTHER_FILES -> "files that hold no tensor records";
                case TRUNCATED -> "data files are shorter than their records need: run ckpt verify";
                default -> key.startsWith(MODEL_WEIGHTS_PREFIX) ? pp : "";
            };
        }

        private String count(KeyCategory c, String what) {
            int n = objectCounts.getOrDefault(c, 0);
            return n == 0 ? what : n + " " + what;
        }

        private String overheadWhy() {
            long overhead = byCategory.get(CONTAINER_OVERHEAD);
            boolean dcp = index.format() == CheckpointFormat.MEGATRON_TORCH_DIST || index.format() == CheckpointFormat.DCP;
            if (dcp && tensorRecords > 0) {
                String per = overhead % tensorRecords == 0 ? "exactly " + grouped(overhead / tensorRecords)
                        : "about " + grouped(Math.round((double) overhead / tensorRecords));
                return "each of the " + grouped(tensorRecords) + " tensor records is a small torch.save zip: local headers "
                        + "padded to 64-byte alignment before the tensor bytes, then the version records, central "
                        + "directory and zip64 end records after them (" + per + " bytes per record)";
            }
            return "file bytes not taken by tensor payloads or pickled objects: headers, alignment, indexes";
        }

        private List<String> metadataNames() {
            return index.files().stream().filter(f -> !f.referenced() && Run.fileClass(f.name()).equals(METADATA_FILES))
                    .map(FileEntry::name).toList();
        }

        private List<String> expectation() {
            List<String> s = new ArrayList<>();
            if (parameters == 0) return s;
            List<String> parts = new ArrayList<>();
            for (var e : expected.bytesPerParameter().entrySet()) {
                String what = switch (e.getKey()) {
                    case "model_weights" -> converted.savedDtype() + " weights";
                    case OPTIMIZER_MASTER -> "fp32 master";
                    case OPTIMIZER_EXP_AVG -> "exp_avg";
                    case OPTIMIZER_EXP_AVG_SQ -> "exp_avg_sq";
                    default -> e.getKey();
                };
                parts.add(e.getValue() + " B " + what);
            }
            s.add("Expected from first principles: " + String.join(" + ", parts) + " = " + expected.totalBytesPerParameter()
                    + " B per parameter × " + grouped(parameters) + " = " + full(expected.bytes()) + ".");
            long d = expected.differenceBytes();
            String pct = String.format(java.util.Locale.ROOT, "%.4f%%", 100.0 * d / Math.max(1, expected.bytes()));
            if (d == 0) {
                s.add("Actual equals expected.");
            } else {
                List<String> why = new ArrayList<>();
                for (var e : expected.difference().entrySet())
                    why.add(SizeReport.describe(e.getKey()) + " " + signed(e.getValue()));
                s.add("Actual is " + full(total) + ", " + signed(d) + " bytes (" + pct + ") against that: "
                        + String.join(", ", why) + ".");
            }
            Long beyond = expected.difference().get(OPTIMIZER_BEYOND_PARAMETERS);
            if (beyond != null) s.add(beyondSentence(beyond));
            Number w = expected.bytesPerParameter().get("model_weights");
            if (w == null && expected.bytesPerParameter().containsKey(OPTIMIZER_MASTER)) {
                s.add("No 16-bit copy of the weights is saved (DeepSpeed ZeRO-3 keeps empty placeholders in the model "
                        + "states): the fp32 master is the only copy, so a 16-bit + fp32 Adam training save weighs 12, not "
                        + "2 + 4 + 4 + 4 = 14, B per parameter.");
            } else if (expected.bytesPerParameter().containsKey(OPTIMIZER_MASTER) && w.doubleValue() <= 2
                    && expected.bytesPerParameter().containsKey(OPTIMIZER_EXP_AVG)) {
                long naive = parameters * 10;
                s.add("A naive \"16-bit weights + fp32 Adam\" estimate (2 + 4 + 4 = 10 B per parameter = "
                        + Units.decimal(naive) + ") misses the fp32 master copy (4 B per parameter = "
                        + Units.decimal(byCategory.get(OPTIMIZER_MASTER)) + ").");
            }
            return s;
        }

        private String beyondSentence(long beyond) {
            String fmt = String.valueOf(index.details().get("optimizer_format"));
            long elements = optimizerElements - parameters;
            String per = elements == 0 ? "" : " (" + grouped(Math.abs(elements)) + " elements per state kind)";
            if (beyond > 0) {
                return "The optimizer tensors hold " + grouped(beyond) + " bytes more than one element per parameter needs" + per + ": "
                        + (fmt.equals("dp_reshardable")
                        ? "the dp_reshardable buckets are flat per data-parallel group; parameters replicated across "
                        + "tensor-parallel ranks (layer norms, biases) get one copy of optimizer state per rank, and "
                        + "buckets may be padded for alignment (per_bucket_numel vs per_bucket_numel_unpadded)"
                        : "optimizer state for replicated or padded elements") + ".";
            }
            return "The optimizer tensors hold " + grouped(-beyond) + " bytes less than one element per parameter needs" + per + ": "
                    + "some parameters have no optimizer state (frozen, or kept by another optimizer).";
        }

        private String convertedSentence() {
            String saved = converted.savedDtype();
            StringBuilder b = new StringBuilder("A converted model (weights only) weighs " + Units.both(converted.bfloat16Bytes())
                    + " in bfloat16, " + Units.both(converted.float32Bytes()) + " in float32");
            if (!saved.isEmpty() && !saved.equals("bfloat16") && !saved.equals("float32"))
                b.append(", ").append(Units.both(converted.savedDtypeBytes())).append(" as saved (").append(saved).append(')');
            Long rows = converted.vocabPaddingRows();
            if (rows != null && rows > 0) {
                b.append("; a Hugging Face export trims the ").append(grouped(rows)).append(" padding rows: ")
                        .append(grouped(converted.hfParameters())).append(" parameters = ")
                        .append(Units.both(converted.hfBfloat16Bytes())).append(" in bfloat16, ")
                        .append(Units.both(converted.hfFloat32Bytes())).append(" in float32");
            } else if (rows == null && model != null && model.paddedVocabSize() != null) {
                b.append(" (a Hugging Face export would be smaller by any vocab padding rows; the vocab size is unknown here)");
            }
            return b.append('.').toString();
        }

        private static String signed(long v) {
            return (v >= 0 ? "+" : "−") + grouped(Math.abs(v));
        }

        private static String join(String a, String b) {
            return a.isEmpty() ? b : a + ": " + b;
        }

        private static String capitalize(String s) {
            return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
        }
    }
}
