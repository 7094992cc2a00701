package ckpt.convert.index;

import ckpt.format.FormatException;
import ckpt.format.megatron.KeyCategory;
import ckpt.format.megatron.MegatronArgs;
import ckpt.format.megatron.ModelConfig;
import ckpt.format.megatron.legacy.LegacyIteration;
import ckpt.format.megatron.legacy.LegacyRank;
import ckpt.format.megatron.legacy.PipelineSplit;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyTuple;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;
import ckpt.format.torchsave.TensorRef;
import ckpt.format.torchsave.TorchSaveArchive;
import ckpt.format.zip.ZipEntryInfo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Presents a legacy {@code --ckpt-format torch} iteration as the same {@link CheckpointIndex} a torch_dist checkpoint
 * gives: model tensors under torch_dist keys with global shapes (stacked layers, experts), each made of pieces that
 * point into the per-rank files, so assembly and conversion need not know the difference. Copies that are not
 * pieces (TP replicas, dense tensors on expert ranks ≠ 0, the tied output layer) are kept aside as
 * {@link LegacyReplica}s. Optimizer tensors are listed per rank under their own keys (no mapping to parameters).
 */
public final class LegacyIndexer {
    private static final int MAX_DEPTH = 64;

    private LegacyIndexer() {
    }

    /** The replicas of a legacy index (empty for other formats). */
    public static List<LegacyReplica> replicas(CheckpointIndex index) {
        return index.resources() instanceof Resources r ? r.replicas : List.of();
    }

    /** The legacy iteration a legacy index reads (open while the index is); empty for other formats. */
    public static java.util.Optional<LegacyIteration> iteration(CheckpointIndex index) {
        return index.resources() instanceof Resources r ? java.util.Optional.of(r.iteration) : java.util.Optional.empty();
    }

    /** Builds the index; on success the index owns {@code it} (closing the index closes it). */
    public static CheckpointIndex index(LegacyIteration it) {
        try {
            return build(it);
        } catch (RuntimeException e) {
            it.close();
            throw e;
        }
    }

    /** What {@link LegacyMerge} needs to know about this iteration's model and split (from its args). */
    public static LegacyMerge.Model mergeModel(LegacyIteration it) {
        MegatronArgs a = it.args();
        ModelConfig cfg = it.model();
        boolean localSpec = a.getString("transformer_impl").orElse("transformer_engine").equals("local")
                && !cfg.multiLatentAttention();
        return new LegacyMerge.Model(cfg.numLayers(), cfg.numExperts() == null ? 0 : cfg.numExperts(),
                cfg.gatedLinearUnit(), cfg.tiedEmbeddings(), homogeneous(a), localSpec, it.tensorParallel(),
                it.expertParallel(), it.pipelineSplit(), a.raw("pipeline_model_parallel_layout") != null);
    }

    private static CheckpointIndex build(LegacyIteration it) {
        MegatronArgs a = it.args();
        ModelConfig cfg = it.model();
        PipelineSplit split = it.pipelineSplit();
        int chunks = split.chunksPerStage();
        LegacyMerge.Model model = mergeModel(it);

        Map<LegacyRank, List<PyDict>> chunksOf = new LinkedHashMap<>();
        List<LegacyMerge.Shard> shards = new ArrayList<>();
        for (LegacyRank r : it.ranks()) {
            List<PyDict> sds = r.modelChunks(chunks);
            chunksOf.put(r, sds);
            for (int v = 0; v < sds.size(); v++) {
                for (Map.Entry<Object, Object> e : sds.get(v).items().entrySet()) {
                    String key = String.valueOf(e.getKey());
                    if (isExtraState(key) || !(e.getValue() instanceof TensorRef t)) continue;
                    if (t.isMeta())
                        throw FormatException.atKey(it.dir().resolve(r.modelFileName()), key, "meta tensor without data");
                    shards.add(new LegacyMerge.Shard(r.id(), r.dirName(), v, key, t.dtype(), t.shape(),
                            prepend -> TorchSavePieceSource.of(r.modelFileName(), r.modelArchive(), t, prepend)));
                }
            }
        }
        LegacyMerge.Result merged = LegacyMerge.merge(it.dir(), model, shards);

        List<ObjectEntry> objects = new ArrayList<>();
        List<GlobalTensor> tensors = new ArrayList<>(merged.tensors());
        for (LegacyRank r : it.ranks()) {
            List<PyDict> sds = chunksOf.get(r);
            for (int v = 0; v < sds.size(); v++) {
                String chunk = chunks == 1 ? "model" : "model" + v;
                long offset = merged.layerOffsets()[r.id().pp()][v];
                for (Map.Entry<Object, Object> e : sds.get(v).items().entrySet()) {
                    String key = String.valueOf(e.getKey());
                    boolean extra = isExtraState(key);
                    if (!extra && e.getValue() instanceof TensorRef) continue;
                    String shown = r.dirName() + "/" + chunk + "/" + globalNumbered(key, offset);
                    objects.add(object(r, shown, extra ? KeyCategory.EXTRA_STATE : KeyCategory.OTHER, e.getValue()));
                }
            }
            otherState(r, tensors, objects);
        }

        Map<String, Object> details = new LinkedHashMap<>();
        details.put("checkpoint_version", it.checkpointVersion());
        details.put("rank_dirs", it.rankDirNames());
        details.put("distrib_optim", it.hasDistributedOptimizerState());
        details.put("transformer_impl", a.getString("transformer_impl").orElse(null));
        details.put("stacked_layers", model.stacked());
        details.put("layer_offsets", offsetsDetail(merged.layerOffsets()));
        details.put("replicas", merged.replicas().size());
        return new CheckpointIndex(it.dir(), CheckpointFormat.MEGATRON_LEGACY_TORCH, it.era(), it.iteration(), cfg,
                it.parallelism(), a.toPlainMap(), tensors, objects, files(it), details,
                new Resources(it, List.copyOf(merged.replicas())));
    }

    /** A Transformer Engine {@code _extra_state} entry of a model state dict: opaque bytes, not a parameter. */
    public static boolean isExtraState(String key) {
        return key.endsWith("._extra_state") || key.equals("_extra_state") || key.contains("._extra_state.");
    }

    /** {@code decoder.layers.2.x} of a chunk whose first layer is global layer 8 → {@code decoder.layers.10.x}. */
    private static String globalNumbered(String key, long offset) {
        LegacyKeys.Parsed p = LegacyKeys.parse(key, false);
        if (!p.inLayer()) return key;
        return "decoder.layers." + (offset + p.localLayer()) + key.substring(key.indexOf('.', "decoder.layers.".length()));
    }

    /**
     * Megatron keeps decoder layers stacked in torch_dist unless they differ from layer to layer
     * ({@code TransformerBlock.sharded_state_dict}): MoE every k-th layer, linear attention patterns, heterogeneous
     * block specs.
     */
    static boolean homogeneous(MegatronArgs a) {
        for (String f : List.of("moe_layer_freq", "linear_attention_freq")) {
            Object v = a.raw(f);
            if (v instanceof List<?> || v instanceof PyTuple) return false;
            if (a.getLong(f).orElse(1L) > 1) return false;
        }
        if (a.getBool("hetereogenous_dist_checkpoint", false)) return false;
        return a.raw("heterogeneous_layers_config_path") == null && a.raw("heterogeneous_layers_config_encoded_json") == null;
    }

    private static Map<String, String> offsetsDetail(long[][] offsets) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int p = 0; p < offsets.length; p++)
            for (int v = 0; v < offsets[p].length; v++)
                m.put("pp" + p + (offsets[p].length > 1 ? ".model" + v : ""), String.valueOf(offsets[p][v]));
        return m;
    }

    private static List<FileEntry> files(LegacyIteration it) {
        Map<String, FileEntry> out = new TreeMap<>();
        try {
            addFiles(out, it.dir(), "", false);
            for (LegacyRank r : it.ranks()) addFiles(out, it.dir().resolve(r.dirName()), r.dirName() + "/", true);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return List.copyOf(out.values());
    }

    private static void addFiles(Map<String, FileEntry> out, Path dir, String prefix, boolean rankDir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (!Files.isRegularFile(p)) continue;
                String n = p.getFileName().toString();
                boolean referenced = rankDir && (n.equals(LegacyRank.MODEL_FILE) || n.equals(LegacyRank.DISTRIB_OPTIM_FILE));
                out.put(prefix + n, new FileEntry(prefix + n, Files.size(p), true, referenced));
            }
        }
    }

    /** Optimizer tensors, RNG state and the rest of a rank's files (everything but the model chunks). */
    private static void otherState(LegacyRank r, List<GlobalTensor> tensors, List<ObjectEntry> objects) {
        TorchSaveArchive model = r.modelArchive();
        objects.add(pickleEntry(r.modelFileName(), model, r.dirName() + "/" + LegacyRank.MODEL_FILE + ":data.pkl",
                KeyCategory.COMMON_STATE));
        for (Map.Entry<Object, Object> e : r.state().items().entrySet()) {
            String top = String.valueOf(e.getKey());
            if (top.equals("model") || top.matches("model\\d+")) continue;
            List<Object> path = new ArrayList<>();
            path.add(top);
            walk(e.getValue(), path, 0, new IdentityHashMap<>(), (p, t) -> {
                if (top.equals("optimizer")) {
                    String key = "optimizer." + r.dirName() + "." + render(p.subList(1, p.size()), false);
                    tensors.add(single(key, optimizerCategory(p), r.modelFileName(), model, t));
                } else {
                    KeyCategory c = top.equals("rng_state") ? KeyCategory.RNG_STATE : KeyCategory.OTHER;
                    objects.add(tensorObject(r.dirName() + "/" + render(p, false), c, r.modelFileName(), model, t));
                }
            });
        }
        r.distribOptimArchive().ifPresent(opt -> {
            objects.add(pickleEntry(r.distribOptimFileName(), opt, r.dirName() + "/" + LegacyRank.DISTRIB_OPTIM_FILE
                    + ":data.pkl", KeyCategory.OPTIMIZER_OTHER));
            walk(opt.root(), new ArrayList<>(), 0, new IdentityHashMap<>(), (p, t) -> {
                String key = "optimizer.distributed." + r.dirName() + "." + render(p, true);
                tensors.add(single(key, optimizerCategory(p), r.distribOptimFileName(), opt, t));
            });
        });
    }

    private static ObjectEntry object(LegacyRank r, String key, KeyCategory c, Object value) {
        if (value instanceof TensorRef t && !t.isMeta()) return tensorObject(key, c, r.modelFileName(), r.modelArchive(), t);
        // Pickled inline in data.pkl (None, BytesIO…): it has no record of its own.
        return new ObjectEntry(key, c, r.modelFileName(), pickle(r.modelArchive()).dataOffset(), 0);
    }

    private interface TensorVisitor {
        void visit(List<Object> path, TensorRef t);
    }

    /** Every tensor below {@code v}, with its path of dict keys / list indices; shared containers are visited once. */
    private static void walk(Object v, List<Object> path, int depth, IdentityHashMap<Object, Boolean> seen, TensorVisitor visitor) {
        if (v instanceof TensorRef t) {
            if (!t.isMeta() && seen.put(t, Boolean.TRUE) == null) visitor.visit(List.copyOf(path), t);
            return;
        }
        if (depth >= MAX_DEPTH) return;
        if (v instanceof PyDict d) {
            if (seen.put(d, Boolean.TRUE) != null) return;
            for (Map.Entry<Object, Object> e : d.items().entrySet()) {
                path.add(e.getKey());
                walk(e.getValue(), path, depth + 1, seen, visitor);
                path.removeLast();
            }
        } else if (v instanceof List<?> l) {
            if (seen.put(l, Boolean.TRUE) != null) return;
            for (int i = 0; i < l.size(); i++) {
                path.add(i);
                walk(l.get(i), path, depth + 1, seen, visitor);
                path.removeLast();
            }
        } else if (v instanceof PyTuple tu) {
            if (seen.put(tu, Boolean.TRUE) != null) return;
            for (int i = 0; i < tu.size(); i++) {
                path.add(i);
                walk(tu.get(i), path, depth + 1, seen, visitor);
                path.removeLast();
            }
        }
    }

    /**
     * A path as a dotted key. For {@code distrib_optim.pt} ({@code {gbuf_idx: {(param_dtype, grad_dtype): {param,
     * exp_avg, …}}}}, lists of buckets when not coalesced) the parts are named like torch_dist's bucket keys.
     */
    static String render(List<Object> path, boolean distrib) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < path.size(); i++) {
            Object k = path.get(i);
            String s;
            if (k instanceof PyTuple t) {
                List<String> parts = new ArrayList<>();
                for (Object x : t.items()) parts.add(x instanceof DType d ? "torch." + d.torchName() : String.valueOf(x));
                s = (distrib ? "dtype_(" : "(") + String.join(", ", parts) + ")";
            } else if (distrib && i == 0 && k instanceof Long n) {
                s = "gbuf_idx_" + n;
            } else if (distrib && k instanceof Integer n) {
                s = "bucket_idx_" + n;
            } else {
                s = String.valueOf(k);
            }
            if (!sb.isEmpty()) sb.append('.');
            sb.append(s);
        }
        return sb.toString();
    }

    static KeyCategory optimizerCategory(List<Object> path) {
        for (Object k : path) if ("fp32_from_fp16_params".equals(k)) return KeyCategory.OPTIMIZER_MASTER;
        for (int i = path.size() - 1; i >= 0; i--) {
            if (!(path.get(i) instanceof String s)) continue;
            switch (s) {
                case "exp_avg": return KeyCategory.OPTIMIZER_EXP_AVG;
                case "exp_avg_sq": return KeyCategory.OPTIMIZER_EXP_AVG_SQ;
                case "param", "fp32_param", "master_param": return KeyCategory.OPTIMIZER_MASTER;
                default: return KeyCategory.OPTIMIZER_OTHER;
            }
        }
        return KeyCategory.OPTIMIZER_OTHER;
    }

    private static GlobalTensor single(String key, KeyCategory c, String file, TorchSaveArchive archive, TensorRef t) {
        TorchSavePieceSource src = TorchSavePieceSource.of(file, archive, t, 0);
        return new GlobalTensor(key, t.dtype(), t.shape(), c, List.of(new TensorPiece(Box.whole(t.shape()), src)));
    }

    private static ObjectEntry tensorObject(String key, KeyCategory c, String file, TorchSaveArchive archive, TensorRef t) {
        TorchSavePieceSource src = TorchSavePieceSource.of(file, archive, t, 0);
        return new ObjectEntry(key, c, file, src.offset(), src.length());
    }

    private static ObjectEntry pickleEntry(String file, TorchSaveArchive archive, String key, KeyCategory c) {
        ZipEntryInfo pkl = pickle(archive);
        return new ObjectEntry(key, c, file, pkl.dataOffset(), pkl.compressedSize());
    }

    private static ZipEntryInfo pickle(TorchSaveArchive archive) {
        String name = archive.zip().prefix() + "/data.pkl";
        return archive.zip().entry(name).orElseThrow(() -> new FormatException(archive.file(), "no " + name));
    }

    private static long[] toArray(List<Long> l) {
        long[] a = new long[l.size()];
        for (int i = 0; i < a.length; i++) a[i] = l.get(i);
        return a;
    }

    /** Keeps the iteration open for the index's lifetime and carries the replicas. */
    private record Resources(LegacyIteration iteration, List<LegacyReplica> replicas) implements AutoCloseable, ckpt.format.RecordChecks {
        @Override
        public void checkRecords(boolean on) {
            iteration.checkRecords(on);
        }

        @Override
        public void close() {
            iteration.close();
        }
    }
}
