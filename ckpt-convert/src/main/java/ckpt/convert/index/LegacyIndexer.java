package ckpt.convert.index;

import ckpt.convert.assembly.Coverage;
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
import java.util.Arrays;
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

    /** Builds the index; on success the index owns {@code it} (closing the index closes it). */
    public static CheckpointIndex index(LegacyIteration it) {
        try {
            return build(it);
        } catch (RuntimeException e) {
            it.close();
            throw e;
        }
    }

    private static CheckpointIndex build(LegacyIteration it) {
        MegatronArgs a = it.args();
        ModelConfig cfg = it.model();
        PipelineSplit split = it.pipelineSplit();
        int chunks = split.chunksPerStage();
        boolean localSpec = a.getString("transformer_impl").orElse("transformer_engine").equals("local")
                && !cfg.multiLatentAttention();
        Context cx = new Context(it, cfg, homogeneous(a), localSpec);

        Map<LegacyRank, List<PyDict>> chunksOf = new LinkedHashMap<>();
        for (LegacyRank r : it.ranks()) chunksOf.put(r, r.modelChunks(chunks));
        long[][] offsets = layerOffsets(it, chunksOf, a.raw("pipeline_model_parallel_layout") != null);

        for (LegacyRank r : it.ranks()) {
            List<PyDict> sds = chunksOf.get(r);
            for (int v = 0; v < sds.size(); v++) {
                String chunkName = chunks == 1 ? "model" : "model" + v;
                for (Map.Entry<Object, Object> e : sds.get(v).items().entrySet())
                    cx.modelEntry(r, chunkName, offsets[r.id().pp()][v], String.valueOf(e.getKey()), e.getValue());
            }
            cx.otherState(r);
        }

        List<GlobalTensor> tensors = new ArrayList<>(cx.model.size() + cx.optimizer.size());
        for (Builder b : cx.model.values()) tensors.add(b.build(it.dir()));
        tensors.addAll(cx.optimizer);

        Map<String, Object> details = new LinkedHashMap<>();
        details.put("checkpoint_version", it.checkpointVersion());
        details.put("rank_dirs", it.rankDirNames());
        details.put("distrib_optim", it.hasDistributedOptimizerState());
        details.put("transformer_impl", a.getString("transformer_impl").orElse(null));
        details.put("stacked_layers", cx.stacked);
        details.put("layer_offsets", offsetsDetail(offsets));
        details.put("replicas", cx.replicas.size());
        return new CheckpointIndex(it.dir(), CheckpointFormat.MEGATRON_LEGACY_TORCH, it.era(), it.iteration(), cfg,
                it.parallelism(), a.toPlainMap(), tensors, cx.objects, files(it), details,
                new Resources(it, List.copyOf(cx.replicas)));
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

    /**
     * Global number of the first layer of each (stage, chunk). Layer counts are read off the files; without a custom
     * layout they must be the ones Megatron's split implies, and the offsets are Megatron's; with a layout the
     * offsets are the running sum in chunk-major order, which is how a layout assigns layers.
     */
    static long[][] layerOffsets(LegacyIteration it, Map<LegacyRank, List<PyDict>> chunksOf, boolean customLayout) {
        PipelineSplit split = it.pipelineSplit();
        int pp = it.pipelineParallel();
        int chunks = split.chunksPerStage();
        long[][] counts = new long[pp][chunks];
        LegacyRank[] countedBy = new LegacyRank[pp];
        for (Map.Entry<LegacyRank, List<PyDict>> e : chunksOf.entrySet()) {
            LegacyRank r = e.getKey();
            int p = r.id().pp();
            long[] c = new long[chunks];
            for (int v = 0; v < chunks; v++) c[v] = layerCount(e.getValue().get(v));
            if (countedBy[p] == null) {
                counts[p] = c;
                countedBy[p] = r;
            } else if (!Arrays.equals(counts[p], c)) {
                throw new FormatException(it.dir(), countedBy[p] + " and " + r + " hold different numbers of decoder layers ("
                        + Arrays.toString(counts[p]) + " vs " + Arrays.toString(c) + ") in the same pipeline stage");
            }
        }
        return offsetsFromCounts(it.dir(), split, counts, customLayout,
                p -> countedBy[p] == null ? "stage " + p : countedBy[p].dirName());
    }

    /** The offsets for per-(stage, chunk) layer counts; checks them against the split unless a custom layout is used. */
    static long[][] offsetsFromCounts(Path dir, PipelineSplit split, long[][] counts, boolean customLayout,
                                      java.util.function.IntFunction<String> stageName) {
        int pp = counts.length;
        int chunks = split.chunksPerStage();
        long[][] offsets = new long[pp][chunks];
        long running = 0;
        for (int v = 0; v < chunks; v++) {
            for (int p = 0; p < pp; p++) {
                if (customLayout) {
                    offsets[p][v] = running;
                } else {
                    long expect = split.layers(p, v);
                    if (counts[p][v] != expect)
                        throw new FormatException(dir, stageName.apply(p) + (chunks > 1 ? " chunk model" + v : "")
                                + " holds " + counts[p][v] + " decoder layers where the args (num_layers " + split.numLayers()
                                + ", PP " + split.pipelineSize() + (split.virtualSize() != null ? ", VPP " + split.virtualSize() : "")
                                + ") imply " + expect);
                    offsets[p][v] = split.offset(p, v);
                }
                running += counts[p][v];
            }
        }
        if (running != split.numLayers())
            throw new FormatException(dir, "the rank files hold " + running + " decoder layers, args.num_layers is "
                    + split.numLayers());
        return offsets;
    }

    private static long layerCount(PyDict sd) {
        long max = -1;
        for (Object k : sd.items().keySet()) {
            LegacyKeys.Parsed p = LegacyKeys.parse(String.valueOf(k), false);
            if (p.inLayer()) max = Math.max(max, p.localLayer());
        }
        return max + 1;
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

    /** Everything gathered while walking the ranks. */
    private static final class Context {
        final LegacyIteration it;
        final ModelConfig cfg;
        final boolean stacked;
        final boolean localSpec;
        final Map<String, Builder> model = new LinkedHashMap<>();
        final List<GlobalTensor> optimizer = new ArrayList<>();
        final List<ObjectEntry> objects = new ArrayList<>();
        final List<LegacyReplica> replicas = new ArrayList<>();

        Context(LegacyIteration it, ModelConfig cfg, boolean stacked, boolean localSpec) {
            this.it = it;
            this.cfg = cfg;
            this.stacked = stacked;
            this.localSpec = localSpec;
        }

        void modelEntry(LegacyRank r, String chunk, long layerOffset, String key, Object value) {
            LegacyKeys.Parsed pk = LegacyKeys.parse(key, localSpec);
            long layer = pk.inLayer() ? layerOffset + pk.localLayer() : -1;
            String shownKey = pk.inLayer() ? "decoder.layers." + layer + key.substring(key.indexOf('.', "decoder.layers.".length())) : key;
            if (key.endsWith("._extra_state") || key.contains("._extra_state.")) {
                objects.add(object(r, r.dirName() + "/" + chunk + "/" + shownKey, KeyCategory.EXTRA_STATE, value));
                return;
            }
            if (!(value instanceof TensorRef t)) {
                objects.add(object(r, r.dirName() + "/" + chunk + "/" + shownKey, KeyCategory.OTHER, value));
                return;
            }
            int tpSize = it.tensorParallel();
            boolean tiedOutput = cfg.tiedEmbeddings() && key.equals("output_layer.weight");
            String globalKey = tiedOutput ? "embedding.word_embeddings.weight" : pk.globalKey(layer, stacked);
            TpSplit rule = LegacyKeys.split(pk.name(), cfg.gatedLinearUnit());
            if (rule == null) {
                if (tpSize > 1)
                    throw new FormatException(it.dir().resolve(r.modelFileName()), "key " + key,
                            "no tensor-parallel merge rule is known for this tensor (TP=" + tpSize + "); ckpt will not guess how its shards combine");
                rule = TpSplit.REPLICATED;
            }
            List<Long> idx = new ArrayList<>(2);
            List<Long> sizes = new ArrayList<>(2);
            if (pk.inLayer() && stacked) {
                idx.add(layer);
                sizes.add(cfg.numLayers());
            }
            if (pk.isExpert()) {
                long experts = cfg.numExperts() == null ? 0 : cfg.numExperts();
                long local = experts / it.expertParallel();
                if (local == 0 || pk.localExpert() >= local)
                    throw new FormatException(it.dir().resolve(r.modelFileName()), "key " + key, "local expert " + pk.localExpert()
                            + " does not fit num_experts " + experts + " over EP=" + it.expertParallel());
                idx.add(r.id().ep() * local + pk.localExpert());
                sizes.add(experts);
            }
            TpSplit.Placement pl;
            try {
                pl = rule.place(toArray(idx), toArray(sizes), t.shape(), r.id().tp(), tpSize);
            } catch (IllegalArgumentException | ArithmeticException ex) {
                throw new FormatException(it.dir().resolve(r.modelFileName()), "key " + key, "shape " + Arrays.toString(t.shape())
                        + " does not fit the " + rule.name().toLowerCase() + " rule for " + globalKey + ": " + ex.getMessage());
            }
            boolean primary = !tiedOutput && (rule != TpSplit.REPLICATED || r.id().tp() == 0)
                    && (pk.isExpert() || r.id().ep() == 0);
            Builder b = model.computeIfAbsent(globalKey, Builder::new);
            b.accept(it.dir(), r.dirName() + ":" + key, t.dtype(), pl.globalShape());
            TorchSavePieceSource src = TorchSavePieceSource.of(r.modelFileName(), r.modelArchive(), t, idx.size());
            for (TpSplit.Part part : pl.parts()) {
                TensorPiece piece = new TensorPiece(part.box(), src, part.sourceOrigin());
                if (primary) b.pieces.add(piece);
                else replicas.add(new LegacyReplica(globalKey, r.dirName(), piece));
            }
        }

        /** Optimizer tensors, RNG state and the rest of each rank's files. */
        void otherState(LegacyRank r) {
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
                        optimizer.add(single(key, optimizerCategory(p), r.modelFileName(), model, t));
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
                    optimizer.add(single(key, optimizerCategory(p), r.distribOptimFileName(), opt, t));
                });
            });
        }

        private ObjectEntry object(LegacyRank r, String key, KeyCategory c, Object value) {
            if (value instanceof TensorRef t) return tensorObject(key, c, r.modelFileName(), r.modelArchive(), t);
            ZipEntryInfo pkl = pickle(r.modelArchive());
            // Pickled inline in data.pkl (None, BytesIO…): it has no record of its own.
            return new ObjectEntry(key, c, r.modelFileName(), pkl.dataOffset(), 0);
        }
    }

    /** Collects one global model tensor: dtype and shape must agree across every rank that contributes. */
    private static final class Builder {
        final String key;
        DType dtype;
        long[] shape;
        String first;
        final List<TensorPiece> pieces = new ArrayList<>();

        Builder(String key) {
            this.key = key;
        }

        void accept(Path dir, String from, DType d, long[] globalShape) {
            if (dtype == null) {
                dtype = d;
                shape = globalShape;
                first = from;
                return;
            }
            if (d != dtype || !Arrays.equals(shape, globalShape))
                throw new FormatException(dir, "key " + key, first + " implies " + dtype + Arrays.toString(shape) + " but "
                        + from + " implies " + d + Arrays.toString(globalShape) + ": the ranks' shards do not fit together");
        }

        GlobalTensor build(Path dir) {
            if (pieces.isEmpty())
                throw new FormatException(dir, "key " + key, "only replicas found (e.g. a tied output layer without the embedding it copies)");
            GlobalTensor t = new GlobalTensor(key, dtype, shape, KeyCategory.MODEL_WEIGHT, pieces);
            Coverage.problem(t).ifPresent(p -> {
                throw new FormatException(dir, "key " + key, "the rank shards do not tile the global tensor: " + p);
            });
            return t;
        }
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
    private record Resources(LegacyIteration iteration, List<LegacyReplica> replicas) implements AutoCloseable {
        @Override
        public void close() {
            iteration.close();
        }
    }
}
