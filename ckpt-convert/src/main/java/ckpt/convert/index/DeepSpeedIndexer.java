package ckpt.convert.index;

import ckpt.format.FormatException;
import ckpt.format.deepspeed.RankFile;
import ckpt.format.deepspeed.RankFile.StoredTensor;
import ckpt.format.deepspeed.UniversalCheckpoint;
import ckpt.format.deepspeed.ZeroCheckpoint;
import ckpt.format.deepspeed.ZeroLayout;
import ckpt.format.deepspeed.ZeroLayout.Fragment;
import ckpt.format.deepspeed.ZeroLayout.Param;
import ckpt.format.megatron.KeyCategory;
import ckpt.format.megatron.ParallelLayout;
import ckpt.format.megatron.Plain;
import ckpt.format.pickle.PyDict;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;
import ckpt.format.tensor.Shapes;
import ckpt.format.tensor.StridedView;
import ckpt.format.torchsave.TensorRef;
import ckpt.format.zip.ZipEntryInfo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Presents a DeepSpeed ZeRO tag directory (or a universal checkpoint) as a {@link CheckpointIndex}:
 *
 * <ul>
 * <li>{@code <param>}: the consolidated weights exactly as DeepSpeed's {@code zero_to_fp32} returns them — the fp32
 *     master of each trainable parameter ({@link KeyCategory#OPTIMIZER_MASTER}), gathered from the flat partitions
 *     of every rank; frozen parameters and buffers ({@link KeyCategory#MODEL_WEIGHT}) as saved;</li>
 * <li>{@code module.<param>}: the 16-bit weights of the model states (ZeRO 0–2: views into one flat storage; ZeRO-3
 *     saves empty placeholders there, which are left out);</li>
 * <li>{@code optimizer.exp_avg.<param>}, {@code optimizer.exp_avg_sq.<param>}: Adam's moments, laid out like the
 *     master weights;</li>
 * <li>objects: each file's pickle, the padding of the flat partitions ({@link KeyCategory#PADDING}), step counters
 *     and any storage the above does not use — so that every byte of every file is accounted for once.</li>
 * </ul>
 * Tied parameters ({@code shared_params}) are listed once, in {@code details.shared_params}; converters write them
 * under both names, as {@code zero_to_fp32} does.
 */
public final class DeepSpeedIndexer {
    public static final String MODULE_PREFIX = "module.";
    public static final String EXP_AVG_PREFIX = "optimizer.exp_avg.";
    public static final String EXP_AVG_SQ_PREFIX = "optimizer.exp_avg_sq.";

    private DeepSpeedIndexer() {
    }

    /** The consolidated state dict of an index built here: {@code zero_to_fp32}'s keys, in its order. */
    public static List<String> stateDictKeys(CheckpointIndex index) {
        Object keys = index.details().get("state_dict_keys");
        if (!(keys instanceof List<?> l)) throw new IllegalArgumentException("not a DeepSpeed index");
        return l.stream().map(String::valueOf).toList();
    }

    /** Tied names of an index built here: alias → the parameter it shares. */
    @SuppressWarnings("unchecked")
    public static Map<String, String> sharedParams(CheckpointIndex index) {
        Object m = index.details().get("shared_params");
        return m instanceof Map<?, ?> map ? (Map<String, String>) map : Map.of();
    }

    public static CheckpointIndex open(Path tagDir) {
        try {
            return build(tagDir);
        } catch (ArithmeticException e) {
            // Shapes and partition sizes come from the files: a forged one must not crash the tool.
            throw new FormatException(tagDir, "element counts in the checkpoint overflow 64-bit arithmetic (forged or corrupt shapes)", e);
        }
    }

    private static CheckpointIndex build(Path tagDir) {
        if (UniversalCheckpoint.isUniversal(tagDir)) {
            UniversalCheckpoint u = UniversalCheckpoint.open(tagDir);
            try {
                return new Build(tagDir).universal(u);
            } catch (RuntimeException e) {
                u.close();
                throw e;
            }
        }
        ZeroCheckpoint z = ZeroCheckpoint.open(tagDir);
        try {
            return new Build(tagDir).zero(z);
        } catch (RuntimeException e) {
            z.close();
            throw e;
        }
    }

    /** One index under construction, with the byte accounting per storage record. */
    private static final class Build {
        final Path dir;
        final List<GlobalTensor> tensors = new ArrayList<>();
        final List<ObjectEntry> objects = new ArrayList<>();
        final Map<String, Object> details = new LinkedHashMap<>();
        /** Storage record (file + key) → bytes attributed so far; the rest of each record is reported at the end. */
        final Map<String, Long> attributed = new HashMap<>();
        final List<String> stateDict = new ArrayList<>();

        Build(Path dir) {
            this.dir = dir;
        }

        CheckpointIndex zero(ZeroCheckpoint z) {
            int ws = z.worldSize();
            Set<String> frozen = z.frozenShapes().keySet();
            // 1. buffers, then frozen, then trainable parameters: zero_to_fp32's order.
            RankFile m0 = z.modelStates().getFirst();
            for (String b : z.bufferNames()) {
                TensorRef t = z.module().get(b);
                if (t == null) throw m0.error("buffer " + b + " is not in the module state dict");
                whole(b, KeyCategory.MODEL_WEIGHT, m0.stored(t, "module." + b));
                stateDict.add(b);
            }
            for (var e : z.frozenShapes().entrySet()) {
                String name = e.getKey();
                long[] shape = e.getValue();
                if (z.stage() == 3) {
                    List<TensorPiece> pieces = new ArrayList<>();
                    long numel = Shapes.numel(shape);
                    long part = Math.ceilDiv(numel, ws);
                    DType dtype = null;
                    for (int r = 0; r < ws; r++) {
                        StoredTensor f = z.frozenFragments().get(r).get(name);
                        if (f.tensor().numel() != part || f.tensor().rank() != 1)
                            throw f.file().error("frozen fragment " + name + " has shape " + java.util.Arrays.toString(f.tensor().shape())
                                    + ", expected [" + part + "] (ceil(" + numel + " / " + ws + "))");
                        dtype = f.tensor().dtype();
                        long first = Math.min(numel, r * part), held = Math.min(numel, first + part) - first;
                        pieces.addAll(flatPieces(shape, first, held, f, 0));
                        attribute(f, held * dtype.byteSize());
                        padding("padding.frozen." + name + ".rank" + r, f, held, part - held);
                    }
                    tensors.add(new GlobalTensor(name, dtype, shape, KeyCategory.MODEL_WEIGHT, pieces));
                } else {
                    StoredTensor f = z.frozenFragments().getFirst().get(name);
                    if (!java.util.Arrays.equals(f.tensor().shape(), shape))
                        throw f.file().error("frozen parameter " + name + " has shape " + java.util.Arrays.toString(f.tensor().shape())
                                + ", frozen_param_shapes says " + java.util.Arrays.toString(shape));
                    whole(name, KeyCategory.MODEL_WEIGHT, f);
                }
                stateDict.add(name);
            }
            if (z.stage() > 0) trainable(z);
            // 2. 16-bit module weights (frozen ones are the fragments above; tied aliases and ZeRO-3 placeholders left out).
            Map<String, String> shared = new LinkedHashMap<>();
            Map<String, String> seenViews = new HashMap<>();
            int placeholders = 0;
            for (var e : z.module().entrySet()) {
                String name = e.getKey();
                TensorRef t = e.getValue();
                if (z.bufferNames().contains(name) || frozen.contains(name) || t.isMeta()) continue;
                String view = t.storage().key() + "@" + t.storageOffset() + java.util.Arrays.toString(t.shape())
                        + java.util.Arrays.toString(t.stride());
                if (t.numel() == 0) {
                    placeholders++;
                    continue;
                }
                String first = seenViews.putIfAbsent(view, name);
                if (first != null) {
                    shared.put(name, first);
                    continue;
                }
                StoredTensor s = m0.stored(t, MODULE_PREFIX + name);
                whole(MODULE_PREFIX + name, KeyCategory.MODEL_WEIGHT, s);
                if (z.stage() == 0) stateDict.add(MODULE_PREFIX + name);
            }
            // Tied parameters as DeepSpeed recorded them: zero_to_fp32 adds each alias whose target it has.
            Map<String, String> aliases = new LinkedHashMap<>();
            for (var e : z.sharedParams().entrySet())
                if (stateDict.contains(e.getValue()) || (z.stage() == 0 && stateDict.contains(MODULE_PREFIX + e.getValue())))
                    aliases.put(e.getKey(), e.getValue());
            if (z.stage() == 0) aliases.putAll(shared); // no ZeRO: the module's own tied views
            for (String a : aliases.keySet()) if (!stateDict.contains(a)) stateDict.add(a);
            details.put("zero_stage", z.stage());
            details.put("world_size", ws);
            details.put("precision", z.facts().getOrDefault("precision", z.moduleDtype().torchName()));
            details.putAll(withoutNulls(z.facts()));
            details.put("parameter_groups", z.paramGroups().size());
            details.put("module_dtype", z.moduleDtype().torchName());
            if (placeholders > 0) details.put("module_placeholders", placeholders);
            if (!shared.isEmpty()) details.put("module_tied_views", shared);
            details.put("shared_params", aliases);
            if (!z.bufferNames().isEmpty()) details.put("buffer_names", z.bufferNames());
            details.put("state_dict_keys", List.copyOf(stateDict));
            long parameters = 0;
            for (List<Param> g : z.paramGroups()) for (Param p : g) parameters = Math.addExact(parameters, p.numel());
            for (long[] s : z.frozenShapes().values()) parameters = Math.addExact(parameters, Shapes.numel(s));
            if (z.stage() > 0) details.put("parameters", parameters);
            if (!z.frozenShapes().isEmpty()) details.put("frozen_params", List.copyOf(z.frozenShapes().keySet()));
            for (RankFile f : z.modelStates()) pickle(f, KeyCategory.COMMON_STATE);
            for (RankFile f : z.optimStates()) pickle(f, KeyCategory.OPTIMIZER_OTHER);
            unattributed(z.modelStates(), KeyCategory.OTHER);
            unattributed(z.optimStates(), KeyCategory.OPTIMIZER_OTHER);
            String precision = String.valueOf(details.get("precision"));
            String era = (z.stage() == 0 ? "DeepSpeed without ZeRO" : "DeepSpeed ZeRO stage " + z.stage()) + ", " + precision
                    + ", world size " + ws + versionSuffix(z.facts().get("ds_version"));
            return index(z, era, z.facts().get("global_steps"), ws, configOf(m0), z.stage());
        }

        /** The fp32 master weights and Adam moments from the flat partitions, as the layout places them. */
        private void trainable(ZeroCheckpoint z) {
            ZeroLayout.Layout layout = z.layout();
            z.checkSliceMappings(layout);
            Map<String, List<Fragment>> byParam = new LinkedHashMap<>();
            for (Fragment f : layout.fragments()) byParam.computeIfAbsent(f.param(), k -> new ArrayList<>()).add(f);
            boolean moments = z.moments().stream().allMatch(l -> !l.isEmpty());
            details.put("adam_moments", moments ? "per flat partition" : "not saved in a layout ckpt maps");
            for (List<Param> group : z.paramGroups()) {
                for (Param p : group) {
                    List<Fragment> frags = byParam.getOrDefault(p.name(), List.of());
                    tensors.add(gathered(p.name(), KeyCategory.OPTIMIZER_MASTER, p, frags, (r, g) -> z.flatGroups().get(r).get(g)));
                    stateDict.add(p.name());
                    if (moments) {
                        tensors.add(gathered(EXP_AVG_PREFIX + p.name(), KeyCategory.OPTIMIZER_EXP_AVG, p, frags,
                                (r, g) -> require(z, r, g, z.moments().get(r).get(g).expAvg(), "exp_avg")));
                        tensors.add(gathered(EXP_AVG_SQ_PREFIX + p.name(), KeyCategory.OPTIMIZER_EXP_AVG_SQ, p, frags,
                                (r, g) -> require(z, r, g, z.moments().get(r).get(g).expAvgSq(), "exp_avg_sq")));
                    }
                }
            }
            long[][] pad = layout.padding();
            long padTotal = 0;
            for (int r = 0; r < pad.length; r++) {
                for (int g = 0; g < pad[r].length; g++) {
                    StoredTensor flat = z.flatGroups().get(r).get(g);
                    long held = flat.tensor().numel() - pad[r][g];
                    padTotal += pad[r][g];
                    padding("padding.fp32.rank" + r + ".group" + g, flat, held, pad[r][g]);
                    if (moments) {
                        // A moment may be longer than its fp32 partition (the padding DeepSpeed cut off the saved master).
                        ZeroCheckpoint.Moments m = z.moments().get(r).get(g);
                        if (m.expAvg() != null)
                            padding("padding.exp_avg.rank" + r + ".group" + g, m.expAvg(), held, m.expAvg().tensor().numel() - held);
                        if (m.expAvgSq() != null)
                            padding("padding.exp_avg_sq.rank" + r + ".group" + g, m.expAvgSq(), held, m.expAvgSq().tensor().numel() - held);
                    }
                }
            }
            details.put("padding_elements_per_state", padTotal);
            // The recorded padding completes the group to world size × the full partition, whether the saved
            // partitions carry it (BF16 optimizer) or it was cut off the last one (ZeRO-1/2 optimizer).
            List<List<Long>> recorded = z.groupPaddings();
            if (z.stage() <= 2 && recorded.stream().allMatch(l -> l.size() == z.paramGroups().size())) {
                for (int g = 0; g < z.paramGroups().size(); g++) {
                    long params = 0, saved = 0, have = 0;
                    for (Param p : z.paramGroups().get(g)) params += p.numel();
                    for (int r = 0; r < pad.length; r++) {
                        saved += z.flatGroups().get(r).get(g).tensor().numel();
                        have += recorded.get(r).get(g);
                    }
                    long full = Math.multiplyExact(z.flatGroups().getFirst().get(g).tensor().numel(), (long) pad.length);
                    if (full - params != have || (saved != params && saved != params + have))
                        throw z.optimStates().getLast().error("group " + g + ": " + params + " parameter elements in partitions of "
                                + z.flatGroups().getFirst().get(g).tensor().numel() + " need " + (full - params)
                                + " padding elements, group_paddings records " + have + " (saved partitions hold " + saved + ")");
                }
            }
            for (int r = 0; r < z.worldSize(); r++)
                for (ZeroCheckpoint.Moments m : z.moments().get(r))
                    if (m.step() != null) storageObject("optimizer.step.rank" + r, KeyCategory.OPTIMIZER_OTHER, m.step());
        }

        private static StoredTensor require(ZeroCheckpoint z, int r, int g, StoredTensor t, String what) {
            if (t == null) throw z.optimStates().get(r).error("state of group " + g + " has no " + what);
            return t;
        }

        private interface GroupTensor {
            StoredTensor at(int rank, int group);
        }

        private GlobalTensor gathered(String key, KeyCategory c, Param p, List<Fragment> frags, GroupTensor source) {
            List<TensorPiece> pieces = new ArrayList<>();
            DType dtype = null;
            for (Fragment f : frags) {
                StoredTensor s = source.at(f.rank(), f.group());
                if (dtype == null) dtype = s.tensor().dtype();
                else if (dtype != s.tensor().dtype())
                    throw s.file().error(key + ": partitions disagree on dtype (" + dtype + " vs " + s.tensor().dtype() + ")");
                pieces.addAll(flatPieces(p.shape(), f.paramStart(), f.length(), s, f.offset()));
                attribute(s, f.length() * s.tensor().dtype().byteSize());
            }
            if (dtype == null) dtype = DType.FLOAT32; // an empty parameter
            return new GlobalTensor(key, dtype, p.shape(), c, pieces);
        }

        /** The pieces holding elements {@code [paramStart, +length)} of a parameter, found at element {@code at} of a 1-d tensor. */
        private List<TensorPiece> flatPieces(long[] shape, long paramStart, long length, StoredTensor s, long at) {
            TensorRef t = s.tensor();
            if (t.rank() != 1 || (t.numel() > 1 && t.stride()[0] != 1))
                throw s.file().error("flat tensor " + t + " is not a contiguous 1-d tensor");
            if (at < 0 || at + length > t.numel())
                throw s.file().error("partition too short: needs elements [" + at + ", " + (at + length) + ") of a flat tensor of "
                        + t.numel());
            return FlatViewSource.pieces(shape, paramStart, paramStart + length, new ViewSource(s), at);
        }

        private void whole(String key, KeyCategory c, StoredTensor s) {
            tensors.add(new GlobalTensor(key, s.tensor().dtype(), s.tensor().shape(), c,
                    List.of(new TensorPiece(Box.whole(s.tensor().shape()), new ViewSource(s)))));
            attribute(s, s.tensor().byteSize());
        }

        private void padding(String key, StoredTensor s, long heldElements, long padElements) {
            if (padElements <= 0) return;
            long es = s.tensor().dtype().byteSize();
            long bytes = padElements * es;
            objects.add(new ObjectEntry(key, KeyCategory.PADDING, s.file().name(),
                    s.offset() + (s.tensor().storageOffset() + heldElements) * es, bytes));
            attribute(s, bytes);
        }

        private void storageObject(String key, KeyCategory c, StoredTensor s) {
            long left = s.length() - attributed.getOrDefault(recordKey(s), 0L);
            if (left <= 0) return;
            objects.add(new ObjectEntry(key, c, s.file().name(), s.offset(), left));
            attributed.merge(recordKey(s), left, Long::sum);
        }

        private void attribute(StoredTensor s, long bytes) {
            attributed.merge(recordKey(s), bytes, Long::sum);
        }

        private static String recordKey(StoredTensor s) {
            return s.file().name() + "\u0000" + s.storageKey();
        }

        private void pickle(RankFile f, KeyCategory c) {
            ZipEntryInfo p = f.pickle();
            objects.add(new ObjectEntry(f.name() + ":data.pkl", c, f.name(), p.dataOffset(), p.compressedSize()));
        }

        /**
         * Every storage record not fully used above: bytes of a flat 16-bit storage that no module view covers
         * (its alignment padding), or tensors DeepSpeed or the job saved that ckpt does not interpret.
         */
        private void unattributed(List<RankFile> files, KeyCategory otherwise) {
            for (RankFile f : files) {
                String dataDir = f.archive().zip().prefix() + "/data/";
                for (ZipEntryInfo e : f.archive().zip().entries()) {
                    if (!e.name().startsWith(dataDir) || e.isDirectory()) continue;
                    String key = f.name() + "\u0000" + e.name().substring(dataDir.length());
                    Long used = attributed.get(key);
                    long left = e.compressedSize() - (used == null ? 0 : used);
                    if (left <= 0) continue;
                    KeyCategory c = used == null ? otherwise : KeyCategory.PADDING;
                    String what = used == null ? "storage." : "padding.storage.";
                    objects.add(new ObjectEntry(what + f.name() + "/" + e.name().substring(dataDir.length()), c, f.name(),
                            e.dataOffset() + (used == null ? 0 : used), left));
                }
            }
        }

        CheckpointIndex universal(UniversalCheckpoint u) {
            RankFile m0 = u.modelStates();
            for (Param p : u.params()) {
                Map<String, StoredTensor> kinds = u.state().get(p.name());
                tensors.add(reshaped(p.name(), KeyCategory.OPTIMIZER_MASTER, p, kinds.get("fp32")));
                stateDict.add(p.name());
                if (kinds.containsKey("exp_avg")) tensors.add(reshaped(EXP_AVG_PREFIX + p.name(), KeyCategory.OPTIMIZER_EXP_AVG, p, kinds.get("exp_avg")));
                if (kinds.containsKey("exp_avg_sq"))
                    tensors.add(reshaped(EXP_AVG_SQ_PREFIX + p.name(), KeyCategory.OPTIMIZER_EXP_AVG_SQ, p, kinds.get("exp_avg_sq")));
                if (kinds.containsKey("step")) storageObject("optimizer.step." + p.name(), KeyCategory.OPTIMIZER_OTHER, kinds.get("step"));
            }
            Set<String> names = new HashSet<>(stateDict);
            Map<String, String> seenViews = new HashMap<>();
            Map<String, String> aliases = new LinkedHashMap<>();
            PyDict root = (PyDict) m0.root();
            if (root.get("module") instanceof PyDict mod) {
                for (var e : mod.items().entrySet()) {
                    if (!(e.getValue() instanceof TensorRef t) || t.isMeta() || t.numel() == 0) continue;
                    String name = String.valueOf(e.getKey());
                    String view = t.storage().key() + "@" + t.storageOffset() + java.util.Arrays.toString(t.shape());
                    String first = seenViews.putIfAbsent(view, name);
                    if (first != null) continue;
                    whole(MODULE_PREFIX + name, KeyCategory.MODEL_WEIGHT, m0.stored(t, MODULE_PREFIX + name));
                }
            }
            if (root.get("shared_params") instanceof PyDict sp)
                sp.items().forEach((k, v) -> {
                    if (names.contains(String.valueOf(v))) aliases.put(String.valueOf(k), String.valueOf(v));
                });
            for (String a : aliases.keySet()) if (!stateDict.contains(a)) stateDict.add(a);
            details.put("universal", true);
            details.put("world_size", 1);
            details.putAll(withoutNulls(u.facts()));
            details.put("shared_params", aliases);
            details.put("state_dict_keys", List.copyOf(stateDict));
            details.put("parameters", u.params().stream().mapToLong(Param::numel).reduce(0L, Math::addExact));
            List<RankFile> all = new ArrayList<>();
            all.add(m0);
            for (Map<String, StoredTensor> kinds : u.state().values()) for (StoredTensor s : kinds.values()) all.add(s.file());
            all.addAll(u.otherFiles());
            pickle(m0, KeyCategory.COMMON_STATE);
            for (RankFile f : all.subList(1, all.size())) pickle(f, KeyCategory.OPTIMIZER_OTHER);
            unattributed(List.of(m0), KeyCategory.OTHER);
            unattributed(all.subList(1, all.size()), KeyCategory.OPTIMIZER_OTHER);
            Object stage = u.facts().get("source_zero_stage");
            String era = "DeepSpeed universal checkpoint" + (stage == null ? "" : " (from ZeRO stage " + stage + ")")
                    + versionSuffix(u.facts().get("ds_version"));
            Object dp = u.facts().get("dp_world_size");
            return index(u, era, u.facts().get("global_steps"), dp instanceof Long l ? l.intValue() : 1, configOf(m0), -1);
        }

        /** A consolidated tensor, 1-d in ZeRO-3 sources: viewed in the parameter's true shape. */
        private GlobalTensor reshaped(String key, KeyCategory c, Param p, StoredTensor s) {
            TensorRef t = s.tensor();
            if (java.util.Arrays.equals(t.shape(), p.shape())) {
                GlobalTensor g = new GlobalTensor(key, t.dtype(), p.shape(), c,
                        List.of(new TensorPiece(Box.whole(p.shape()), new ViewSource(s))));
                attribute(s, t.byteSize());
                return g;
            }
            if (t.numel() > 1 && !isContiguous(t))
                throw s.file().error(key + ": a non-contiguous " + t + " cannot be reshaped to " + java.util.Arrays.toString(p.shape()));
            List<TensorPiece> pieces = new ArrayList<>();
            long numel = p.numel();
            if (numel > 0)
                pieces.add(new TensorPiece(Box.whole(p.shape()), new FlatSource(s, t.storageOffset(), p.shape(), Shapes.contiguousStrides(p.shape()))));
            attribute(s, t.byteSize());
            return new GlobalTensor(key, t.dtype(), p.shape(), c, pieces);
        }

        private static boolean isContiguous(TensorRef t) {
            return java.util.Arrays.equals(t.stride(), Shapes.contiguousStrides(t.shape()));
        }

        private CheckpointIndex index(AutoCloseable resources, String era, Object steps, int ws, Map<String, Object> config, int stage) {
            Long iteration = steps instanceof Long l ? l : null;
            ParallelLayout layout = new ParallelLayout(1, 1, ws, 1, 1, null, ws, stage > 0,
                    stage > 0 ? "zero_stage_" + stage : null);
            return new CheckpointIndex(dir, CheckpointFormat.DEEPSPEED, era, iteration, null, layout, config, tensors,
                    objects, files(), details, resources);
        }

        private List<FileEntry> files() {
            Set<String> referenced = new HashSet<>();
            for (GlobalTensor t : tensors) for (TensorPiece p : t.pieces()) referenced.add(p.source().file());
            for (ObjectEntry o : objects) referenced.add(o.file());
            TreeMap<String, FileEntry> out = new TreeMap<>();
            try (Stream<Path> s = Files.walk(dir, 3)) {
                for (Path p : (Iterable<Path>) s::iterator) {
                    if (!Files.isRegularFile(p)) continue;
                    String rel = dir.relativize(p).toString().replace('\\', '/');
                    out.put(rel, new FileEntry(rel, Files.size(p), true, referenced.contains(rel)));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return List.copyOf(out.values());
        }

        private static Map<String, Object> configOf(RankFile m0) {
            if (m0.root() instanceof PyDict root && root.get("ds_config") instanceof PyDict c) {
                Object plain = Plain.of(c);
                if (plain instanceof Map<?, ?> m) {
                    Map<String, Object> out = new LinkedHashMap<>();
                    m.forEach((k, v) -> out.put(String.valueOf(k), v));
                    return out;
                }
            }
            return Map.of();
        }

        private static Map<String, Object> withoutNulls(Map<String, Object> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, v) -> {
                if (v != null) out.put(k, Plain.of(v));
            });
            return out;
        }

        private static String versionSuffix(Object v) {
            return v == null ? "" : " (DeepSpeed " + v + ")";
        }
    }

    /** A piece read from one tensor record of a rank file: the record is where its bytes live, whatever view decodes them. */
    sealed interface StoredSource extends PieceSource permits ViewSource, FlatSource {
        StoredTensor stored();

        @Override
        default String file() {
            return stored().file().name();
        }

        @Override
        default long offset() {
            return stored().offset();
        }

        @Override
        default long length() {
            return stored().length();
        }
    }

    /** A tensor of a rank file as saved (its own view). */
    record ViewSource(StoredTensor stored) implements StoredSource {
        @Override
        public StridedView open() {
            return stored.view();
        }
    }

    /** Part of a flat 1-d tensor seen as a box of a parameter: {@code shape} elements at {@code offset} with the parameter's strides. */
    record FlatSource(StoredTensor stored, long viewOffset, long[] shape, long[] strides) implements StoredSource {
        @Override
        public StridedView open() {
            StridedView v = new StridedView(stored.storage(), stored.tensor().dtype(), viewOffset, shape, strides);
            long need = v.requiredElements();
            if (need * stored.tensor().dtype().byteSize() > stored.length())
                throw stored.file().error("partition too short: a piece needs element " + need + " of a storage of "
                        + stored.length() / stored.tensor().dtype().byteSize());
            return v;
        }
    }
}
