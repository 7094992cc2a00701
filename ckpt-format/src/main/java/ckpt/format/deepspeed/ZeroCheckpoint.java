package ckpt.format.deepspeed;

import ckpt.format.FormatException;
import ckpt.format.MappedSource;
import ckpt.format.deepspeed.RankFile.StoredTensor;
import ckpt.format.deepspeed.ZeroLayout.Param;
import ckpt.format.pickle.PyDict;
import ckpt.format.tensor.DType;
import ckpt.format.torchsave.TensorRef;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * One DeepSpeed tag directory ({@code global_stepN/}) of a data-parallel ZeRO run, read the way DeepSpeed's
 * {@code zero_to_fp32.py} reads it: the model states (rank 0's for ZeRO 0–2, every rank's for ZeRO-3) give the
 * parameter names and shapes, buffers, tied and frozen parameters; each rank's optimizer states give its flat fp32
 * partitions and the Adam moments over them. World size comes from the saved {@code partition_count}; every rank's
 * file must be there. Model-parallel saves (ranks {@code mp_rank_01…}, Megatron-DeepSpeed pipeline layer files) are
 * refused. Tensor bytes are not read here.
 */
public final class ZeroCheckpoint implements MappedSource, AutoCloseable {
    private final Path dir;
    private final ZeroFiles files;
    private final int stage;
    private final int worldSize;
    private final List<RankFile> modelStates;
    private final List<RankFile> optimStates;
    private final List<List<Param>> paramGroups;
    private final List<String> bufferNames;
    private final Map<String, String> sharedParams;
    private final Map<String, long[]> frozenShapes;
    private final List<Map<String, StoredTensor>> frozenFragments;
    private final Map<String, TensorRef> module;
    private final List<List<StoredTensor>> flatGroups;
    private final List<List<Moments>> moments;
    private final List<List<Long>> groupPaddings;
    private final List<List<Map<String, long[]>>> sliceMappings;
    private final PyDict modelRoot;
    private final Map<String, Object> facts;

    /** Adam state over one flat group tensor of one rank (any of them may be absent). */
    public record Moments(StoredTensor expAvg, StoredTensor expAvgSq, StoredTensor step) {
    }

    private ZeroCheckpoint(Builder b) {
        this.dir = b.dir;
        this.files = b.files;
        this.stage = b.stage;
        this.worldSize = b.worldSize;
        this.modelStates = List.copyOf(b.modelStates);
        this.optimStates = List.copyOf(b.optimStates);
        this.paramGroups = b.paramGroups;
        this.bufferNames = b.bufferNames;
        this.sharedParams = b.sharedParams;
        this.frozenShapes = b.frozenShapes;
        this.frozenFragments = b.frozenFragments;
        this.module = b.module;
        this.flatGroups = b.flatGroups;
        this.moments = b.moments;
        this.groupPaddings = b.groupPaddings;
        this.sliceMappings = b.sliceMappings;
        this.modelRoot = b.modelRoot;
        this.facts = b.facts;
    }

    /** Opens a tag directory; on failure nothing stays open. */
    public static ZeroCheckpoint open(Path dir) {
        ZeroFiles files = new ZeroFiles(dir);
        try {
            Builder b = new Builder(dir, files);
            b.read();
            return new ZeroCheckpoint(b);
        } catch (RuntimeException e) {
            files.close();
            throw e;
        }
    }

    public Path dir() {
        return dir;
    }

    /** 0 when the save has no ZeRO optimizer files (the model states hold everything). */
    public int stage() {
        return stage;
    }

    public int worldSize() {
        return worldSize;
    }

    /** Model-states files: rank 0's ({@code mp_rank_00_model_states.pt}) for ZeRO 0–2, one per rank for ZeRO-3. */
    public List<RankFile> modelStates() {
        return modelStates;
    }

    public List<RankFile> optimStates() {
        return optimStates;
    }

    /** Trainable parameters per optimizer group, in flat-vector order ({@code param_shapes}). */
    public List<List<Param>> paramGroups() {
        return paramGroups;
    }

    public List<String> bufferNames() {
        return bufferNames;
    }

    /** Tied parameters: name → the parameter it shares storage with ({@code shared_params}). */
    public Map<String, String> sharedParams() {
        return sharedParams;
    }

    public Map<String, long[]> frozenShapes() {
        return frozenShapes;
    }

    /** Per model-states file, the frozen parameters' fragments (whole tensors for ZeRO 0–2, 1-D partitions for ZeRO-3). */
    public List<Map<String, StoredTensor>> frozenFragments() {
        return frozenFragments;
    }

    /** The {@code module} dict of rank 0's model states: 16-bit weights (ZeRO-3: empty placeholders) and buffers. */
    public Map<String, TensorRef> module() {
        return module;
    }

    /** {@code [rank][group]}: the flat fp32 partitions ({@code single_partition_of_fp32_groups} / {@code fp32_flat_groups}). */
    public List<List<StoredTensor>> flatGroups() {
        return flatGroups;
    }

    /** {@code [rank][group]}: Adam state over each flat partition; empty lists when it does not map one to one. */
    public List<List<Moments>> moments() {
        return moments;
    }

    /** {@code [rank][group]}: the padding each rank recorded ({@code group_paddings}, ZeRO-1/2); empty if not saved. */
    public List<List<Long>> groupPaddings() {
        return groupPaddings;
    }

    /**
     * {@code [rank][group]}: parameter → {start, numel} of its fragment in the rank's partition, as DeepSpeed recorded
     * it ({@code param_slice_mappings}, ZeRO-1/2); empty lists when not saved.
     */
    public List<List<Map<String, long[]>>> sliceMappings() {
        return sliceMappings;
    }

    /**
     * Checks the computed ZeRO-1/2 layout against DeepSpeed's own record of it: a disagreement (a parameter order
     * DeepSpeed changed, e.g. round-robin gradients) must stop ckpt before it writes misplaced weights.
     */
    public void checkSliceMappings(ZeroLayout.Layout layout) {
        if (stage == 0 || stage == 3) return;
        for (int r = 0; r < worldSize; r++) {
            List<Map<String, long[]>> groups = sliceMappings.get(r);
            if (groups.isEmpty()) continue;
            List<Map<String, long[]>> computed = new ArrayList<>();
            for (int g = 0; g < groups.size(); g++) computed.add(new LinkedHashMap<>());
            for (ZeroLayout.Fragment f : layout.fragments())
                if (f.rank() == r && f.group() < computed.size()) computed.get(f.group()).put(f.param(), new long[]{f.offset(), f.length()});
            for (int g = 0; g < groups.size(); g++) {
                Map<String, long[]> saved = groups.get(g), mine = computed.get(g);
                for (var e : saved.entrySet()) {
                    long[] m = mine.get(e.getKey());
                    if (m == null || m[0] != e.getValue()[0] || m[1] != e.getValue()[1])
                        throw optimStates.get(r).error("param_slice_mappings places " + e.getKey() + " at start " + e.getValue()[0]
                                + " (" + e.getValue()[1] + " elements) of group " + g + ", param_shapes order gives "
                                + (m == null ? "no fragment on this rank" : "start " + m[0] + " (" + m[1] + " elements)")
                                + ": the flat layout is not the one ckpt knows");
                }
                if (saved.size() != mine.size())
                    throw optimStates.get(r).error("param_slice_mappings lists " + saved.size() + " parameters in group " + g
                            + ", the layout puts " + mine.size() + " on this rank");
            }
        }
    }

    public PyDict modelRoot() {
        return modelRoot;
    }

    /** Plain facts for people: ds_version, precision, loss scale, global_steps, … */
    public Map<String, Object> facts() {
        return facts;
    }

    /** Where every trainable parameter's elements lie in the flat partitions. */
    public ZeroLayout.Layout layout() {
        long[][] numel = new long[worldSize][];
        for (int r = 0; r < worldSize; r++) {
            List<StoredTensor> g = flatGroups.get(r);
            numel[r] = new long[g.size()];
            for (int i = 0; i < g.size(); i++) numel[r][i] = g.get(i).tensor().numel();
        }
        ZeroLayout.Blame blame = (r, m) -> optimStates.get(r).error(m);
        if (stage == 3) {
            List<Param> all = new ArrayList<>();
            paramGroups.forEach(all::addAll);
            return ZeroLayout.partitionedParams(all, numel, blame);
        }
        return ZeroLayout.partitionedGroups(paramGroups, numel, blame);
    }

    /** The 16-bit dtype of the module weights (float32 when the job trained in fp32). */
    public DType moduleDtype() {
        for (var e : module.entrySet()) if (!bufferNames.contains(e.getKey())) return e.getValue().dtype();
        return DType.FLOAT32;
    }

    @Override
    public void releaseMappings() {
        files.releaseMappings();
    }

    @Override
    public void close() {
        files.close();
    }

    /** Reads the files; kept apart so the checkpoint object is immutable once built. */
    private static final class Builder {
        final Path dir;
        final ZeroFiles files;
        int stage;
        int worldSize;
        final List<RankFile> modelStates = new ArrayList<>();
        final List<RankFile> optimStates = new ArrayList<>();
        List<List<Param>> paramGroups = List.of();
        List<String> bufferNames = List.of();
        Map<String, String> sharedParams = Map.of();
        Map<String, long[]> frozenShapes = Map.of();
        final List<Map<String, StoredTensor>> frozenFragments = new ArrayList<>();
        Map<String, TensorRef> module = Map.of();
        final List<List<StoredTensor>> flatGroups = new ArrayList<>();
        final List<List<Moments>> moments = new ArrayList<>();
        final List<List<Long>> groupPaddings = new ArrayList<>();
        final List<List<Map<String, long[]>>> sliceMappings = new ArrayList<>();
        PyDict modelRoot;
        final Map<String, Object> facts = new LinkedHashMap<>();

        Builder(Path dir, ZeroFiles files) {
            this.dir = dir;
            this.files = files;
        }

        void read() {
            TreeMap<Integer, String> optim = new TreeMap<>();
            TreeMap<Integer, String> zeroModel = new TreeMap<>();
            boolean mp00 = false;
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : (Iterable<Path>) s::iterator) {
                    String n = p.getFileName().toString();
                    Optional<ZeroFileName> f = ZeroFileName.parse(n);
                    if (f.isEmpty()) continue;
                    ZeroFileName z = f.get();
                    if (z.kind() == ZeroFileName.Kind.EXPERT)
                        throw new FormatException(dir, "DeepSpeed MoE checkpoint (" + n + "): expert files are not supported yet");
                    if (z.kind() == ZeroFileName.Kind.PIPELINE_LAYER || z.mpRank() != 0)
                        throw new FormatException(dir, "model-parallel DeepSpeed checkpoint (" + n + "; Megatron-DeepSpeed "
                                + "tensor/pipeline parallelism): not supported yet — ckpt reads data-parallel ZeRO checkpoints (mp_rank_00 only)");
                    switch (z.kind()) {
                        case OPTIM_STATES -> {
                            String prev = optim.put(z.dpRank(), n);
                            if (prev != null)
                                throw new FormatException(dir, "rank " + z.dpRank(), "two optimizer files for one rank: " + prev + " and " + n);
                        }
                        case ZERO_MODEL_STATES -> zeroModel.put(z.dpRank(), n);
                        case MODEL_STATES -> mp00 = true;
                        default -> {
                        }
                    }
                }
            } catch (IOException e) {
                throw new FormatException(dir, "cannot list directory: " + e.getMessage(), e);
            }
            if (optim.isEmpty()) {
                if (!mp00) {
                    if (!zeroModel.isEmpty())
                        throw new FormatException(dir, "rank 0", "ZeRO-3 model states but no *_optim_states.pt file: the optimizer files are missing");
                    throw new FormatException(dir, "no DeepSpeed model states (mp_rank_00_model_states.pt) or optimizer states (*_optim_states.pt)");
                }
                stage = 0;
                worldSize = 1;
                readModelStates(List.of(files.open(ZeroFileName.modelStates(0), 0)));
                return;
            }
            // World size from the saved partition counts of the lowest rank present (like zero_to_fp32, which uses rank 0).
            int firstRank = optim.firstKey();
            RankFile first = files.open(optim.get(firstRank), firstRank);
            PyDict osd = optimizerStateDict(first);
            stage = zeroStage(first, osd);
            long ws = partitionCount(first, osd);
            if (ws < 1 || ws > ZeroFileName.MAX_RANK)
                throw first.error("partition_count " + ws + " is not a world size");
            worldSize = (int) ws;
            boolean bf16 = ZeroFileName.parse(first.name()).map(ZeroFileName::bf16).orElse(false);
            for (int r = 0; r < worldSize; r++)
                if (!optim.containsKey(r))
                    throw new FormatException(dir.resolve(ZeroFileName.optimStates(r, 0, bf16)), "rank " + r,
                            "optimizer states of rank " + r + " are missing (world size " + worldSize + " from partition_count in "
                                    + first.name() + ")");
            if (optim.lastKey() >= worldSize)
                throw new FormatException(dir.resolve(optim.lastEntry().getValue()), "rank " + optim.lastKey(),
                        "optimizer file of rank " + optim.lastKey() + " but partition_count says world size " + worldSize
                                + " (a leftover of another run?)");
            for (int r = 0; r < worldSize; r++) {
                RankFile f = r == firstRank ? first : files.open(optim.get(r), r);
                optimStates.add(f);
                readOptimizer(f, r);
            }
            List<RankFile> models = new ArrayList<>();
            if (stage == 3) {
                for (int r = 0; r < worldSize; r++) {
                    String n = zeroModel.get(r);
                    if (n == null)
                        throw new FormatException(dir.resolve(ZeroFileName.zeroModelStates(r, 0)), "rank " + r,
                                "model states of rank " + r + " are missing (ZeRO-3 saves one per rank; world size " + worldSize + ")");
                    models.add(files.open(n, r));
                }
            } else {
                if (!mp00)
                    throw new FormatException(dir.resolve(ZeroFileName.modelStates(0)), "rank 0", "model states are missing");
                models.add(files.open(ZeroFileName.modelStates(0), 0));
            }
            readModelStates(models);
            facts.put("bf16_optimizer_files", bf16);
        }

        private static PyDict optimizerStateDict(RankFile f) {
            if (!(f.root() instanceof PyDict root) || !(root.get("optimizer_state_dict") instanceof PyDict osd))
                throw f.error("not a DeepSpeed optimizer states file (no optimizer_state_dict)");
            return osd;
        }

        private int zeroStage(RankFile f, PyDict osd) {
            Optional<Long> s = PyValues.stage(osd.get("zero_stage"));
            if (s.isEmpty()) {
                // The BF16 optimizer (ZeRO-1 with bf16) saves no zero_stage; its config says it.
                s = PyValues.dict(((PyDict) f.root()).get("ds_config")).flatMap(c -> PyValues.dict(c.get("zero_optimization")))
                        .flatMap(z -> PyValues.integer(z.get("stage")));
            }
            if (osd.containsKey("single_partition_of_fp32_groups") && !osd.containsKey("zero_stage")) {
                // BF16_Optimizer (also under "stage 0"): ZeRO-1's layout, partitions saved with their padding.
                facts.put("optimizer", "BF16_Optimizer");
                if (s.isEmpty() || s.get() == 0) s = Optional.of(1L);
            }
            if (s.isEmpty() && osd.containsKey("fp32_flat_groups")) s = Optional.of(3L);
            if (s.isEmpty() || s.get() < 1 || s.get() > 3)
                throw f.error("unknown ZeRO stage " + s.map(String::valueOf).orElse("(none saved)"));
            return s.get().intValue();
        }

        private static long partitionCount(RankFile f, PyDict osd) {
            Object pc = osd.get("partition_count");
            Optional<Long> n = PyValues.integer(pc);
            if (n.isPresent()) return n.get();
            Optional<List<Object>> l = PyValues.list(pc);
            if (l.isPresent() && !l.get().isEmpty()) {
                long max = 0;
                for (Object o : l.get()) max = Math.max(max, PyValues.integer(o).orElseThrow(() -> f.error("partition_count holds " + o)));
                return max;
            }
            throw f.error("no partition_count: the world size is unknown");
        }

        private void readOptimizer(RankFile f, int rank) {
            PyDict osd = optimizerStateDict(f);
            if (rank > 0) {
                int s = zeroStage(f, osd);
                if (s != stage) throw f.error("ZeRO stage " + s + ", rank " + optimStates.getFirst().rank() + " says " + stage);
                long ws = partitionCount(f, osd);
                if (ws != worldSize) throw f.error("partition_count " + ws + ", rank 0 says " + worldSize);
            }
            String key = stage == 3 ? "fp32_flat_groups" : "single_partition_of_fp32_groups";
            List<Object> groups = PyValues.list(osd.get(key)).orElseThrow(() -> f.error("no " + key + " list"));
            List<StoredTensor> flat = new ArrayList<>();
            for (int g = 0; g < groups.size(); g++) {
                if (!(groups.get(g) instanceof TensorRef t)) throw f.error(key + "[" + g + "] is not a tensor");
                if (t.rank() != 1) throw f.error(key + "[" + g + "] has shape " + java.util.Arrays.toString(t.shape()) + ", not 1-d");
                if (!t.dtype().isFloatingPoint()) throw f.error(key + "[" + g + "] is " + t.dtype() + ", not a float tensor");
                flat.add(f.stored(t, key + "[" + g + "]"));
            }
            flatGroups.add(List.copyOf(flat));
            List<Long> pads = new ArrayList<>();
            PyValues.list(osd.get("group_paddings")).ifPresent(l -> l.forEach(o -> pads.add(PyValues.integer(o)
                    .filter(v -> v >= 0).orElseThrow(() -> f.error("group_paddings holds " + o)))));
            groupPaddings.add(List.copyOf(pads));
            moments.add(readMoments(f, osd.get(stage == 3 ? "optimizer_state_dict" : "base_optimizer_state"), flat, pads));
            sliceMappings.add(sliceMappings(f, osd.get("param_slice_mappings")));
            if (rank == 0) {
                PyValues.attr(osd.get("loss_scaler"), "cur_scale").ifPresent(v -> facts.put("loss_scale", v));
                Object ls = osd.get("loss_scaler");
                if (ls instanceof ckpt.format.pickle.PyObject p) facts.put("loss_scaler", p.type().name());
                facts.put("dynamic_loss_scale", osd.get("dynamic_loss_scale"));
                PyValues.list(osd.get("param_slice_mappings")).ifPresent(l -> facts.put("param_slice_mappings", l.size()));
            }
        }

        /** {@code param_slice_mappings}: per group, name → {@code fragment_address(numel, start)}; empty if absent or unreadable. */
        private static List<Map<String, long[]>> sliceMappings(RankFile f, Object saved) {
            Optional<List<Object>> groups = PyValues.list(saved);
            if (groups.isEmpty()) return List.of();
            List<Map<String, long[]>> out = new ArrayList<>();
            for (Object g : groups.get()) {
                if (!(g instanceof PyDict d)) return List.of();
                Map<String, long[]> m = new LinkedHashMap<>();
                for (var e : d.items().entrySet()) {
                    Optional<Long> start = PyValues.attr(e.getValue(), "start").flatMap(PyValues::integer);
                    Optional<Long> numel = PyValues.attr(e.getValue(), "numel").flatMap(PyValues::integer);
                    if (start.isEmpty() || numel.isEmpty()) return List.of();
                    m.put(String.valueOf(e.getKey()), new long[]{start.get(), numel.get()});
                }
                out.add(m);
            }
            return List.copyOf(out);
        }

        /**
         * Adam state over the flat partitions: the base optimizer's {@code state} (a torch optimizer state dict whose
         * entries are the flat partitions in order), or, with elastic checkpoints, one state dict per group.
         */
        private static List<Moments> readMoments(RankFile f, Object base, List<StoredTensor> flat, List<Long> pads) {
            List<PyDict> states = new ArrayList<>();
            if (base instanceof PyDict d && d.get("state") instanceof PyDict st) {
                TreeMap<Long, PyDict> byIndex = new TreeMap<>();
                for (var e : st.items().entrySet()) {
                    Optional<Long> i = PyValues.integer(e.getKey());
                    if (i.isEmpty() || !(e.getValue() instanceof PyDict s)) return List.of();
                    byIndex.put(i.get(), s);
                }
                states.addAll(byIndex.values());
            } else if (PyValues.list(base).isPresent()) {
                for (Object o : PyValues.list(base).get()) {
                    if (!(o instanceof PyDict s)) return List.of();
                    states.add(s);
                }
            }
            if (states.size() != flat.size()) return List.of();
            List<Moments> out = new ArrayList<>();
            for (int g = 0; g < states.size(); g++) {
                PyDict s = states.get(g);
                long n = flat.get(g).tensor().numel();
                long pad = g < pads.size() ? pads.get(g) : 0;
                out.add(new Moments(moment(f, s, "exp_avg", g, n, pad), moment(f, s, "exp_avg_sq", g, n, pad),
                        s.get("step") instanceof TensorRef t && !t.isMeta() ? f.stored(t, "state[" + g + "].step") : null));
            }
            return List.copyOf(out);
        }

        /**
         * One Adam moment: as long as the fp32 partition, or — on the rank whose saved fp32 partition had its padding
         * cut off — longer by exactly that recorded padding (the optimizer's state is over the padded partition).
         */
        private static StoredTensor moment(RankFile f, PyDict s, String name, int g, long numel, long pad) {
            if (!(s.get(name) instanceof TensorRef t)) return null;
            String what = "state[" + g + "]." + name;
            if (t.rank() != 1 || (t.numel() != numel && t.numel() != numel + pad))
                throw f.error(what + " has shape " + java.util.Arrays.toString(t.shape()) + ", its fp32 partition has " + numel
                        + " elements" + (pad > 0 ? " (+ " + pad + " padding)" : ""));
            return f.stored(t, what);
        }

        private void readModelStates(List<RankFile> models) {
            modelStates.addAll(models);
            RankFile m0 = models.getFirst();
            if (!(m0.root() instanceof PyDict root)) throw m0.error("not a DeepSpeed model states file (not a dict)");
            modelRoot = root;
            PyValues.integer(root.get("mp_world_size")).filter(n -> n > 1).ifPresent(n -> {
                throw new FormatException(dir, "model-parallel DeepSpeed checkpoint (mp_world_size " + n + "): not supported yet — "
                        + "ckpt reads data-parallel ZeRO checkpoints");
            });
            if (!(root.get("module") instanceof PyDict mod)) throw m0.error("no module state dict");
            Map<String, TensorRef> modTensors = new LinkedHashMap<>();
            for (var e : mod.items().entrySet())
                if (e.getValue() instanceof TensorRef t) modTensors.put(String.valueOf(e.getKey()), t);
            module = modTensors;
            List<String> buffers = new ArrayList<>();
            PyValues.list(root.get("buffer_names")).ifPresent(l -> l.forEach(o -> buffers.add(String.valueOf(o))));
            bufferNames = List.copyOf(buffers);
            Map<String, String> shared = new LinkedHashMap<>();
            PyValues.dict(root.get("shared_params")).ifPresent(d -> d.items().forEach((k, v) -> shared.put(String.valueOf(k), String.valueOf(v))));
            sharedParams = shared;
            paramGroups = paramShapes(m0, root.get("param_shapes"));
            Map<String, long[]> frozen = new LinkedHashMap<>();
            PyValues.dict(root.get("frozen_param_shapes")).ifPresent(d -> d.items().forEach((k, v) -> frozen.put(String.valueOf(k),
                    PyValues.shape(v).orElseThrow(() -> m0.error("frozen_param_shapes[" + k + "] is not a shape: " + v)))));
            frozenShapes = frozen;
            for (RankFile m : models) {
                Map<String, StoredTensor> frags = new LinkedHashMap<>();
                if (m.root() instanceof PyDict r)
                    PyValues.dict(r.get("frozen_param_fragments")).ifPresent(d -> d.items().forEach((k, v) -> {
                        if (v instanceof TensorRef t) frags.put(String.valueOf(k), m.stored(t, "frozen_param_fragments[" + k + "]"));
                    }));
                for (String name : frozen.keySet())
                    if (!frags.containsKey(name)) throw m.error("frozen parameter " + name + " has no fragment in frozen_param_fragments");
                frozenFragments.add(frags);
            }
            facts.put("ds_version", root.get("ds_version"));
            facts.put("global_steps", root.get("global_steps"));
            facts.put("global_samples", root.get("global_samples"));
            facts.put("dp_world_size", root.get("dp_world_size"));
            facts.put("mp_world_size", root.get("mp_world_size"));
            PyValues.dict(root.get("ds_config")).ifPresent(c -> facts.put("precision",
                    enabled(c, "bf16") ? "bf16" : enabled(c, "fp16") ? "fp16" : "fp32"));
        }

        private static boolean enabled(PyDict config, String section) {
            return config.get(section) instanceof PyDict d && Boolean.TRUE.equals(d.get("enabled"));
        }

        private static List<List<Param>> paramShapes(RankFile f, Object saved) {
            List<Object> groups;
            if (saved instanceof PyDict one) groups = List.of(one);
            else groups = PyValues.list(saved).orElse(null);
            if (groups == null) throw f.error("no param_shapes: parameter names and shapes are unknown");
            List<List<Param>> out = new ArrayList<>();
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (Object g : groups) {
                if (!(g instanceof PyDict d)) throw f.error("param_shapes holds " + g + ", not a dict");
                List<Param> ps = new ArrayList<>();
                for (var e : d.items().entrySet()) {
                    String name = String.valueOf(e.getKey());
                    long[] shape = PyValues.shape(e.getValue()).orElseThrow(() -> f.error("param_shapes[" + name + "] is not a shape"));
                    if (!seen.add(name)) throw f.error("param_shapes lists " + name + " twice");
                    try {
                        ckpt.format.tensor.Shapes.numel(shape);
                    } catch (ArithmeticException x) {
                        throw f.error("param_shapes[" + name + "] overflows: " + java.util.Arrays.toString(shape));
                    }
                    ps.add(new Param(name, shape));
                }
                out.add(List.copyOf(ps));
            }
            return List.copyOf(out);
        }
    }
}
