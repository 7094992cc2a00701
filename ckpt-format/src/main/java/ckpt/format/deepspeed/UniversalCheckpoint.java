package ckpt.format.deepspeed;

import ckpt.format.InputText;
import ckpt.format.FormatException;
import ckpt.format.MappedSource;
import ckpt.format.deepspeed.RankFile.StoredTensor;
import ckpt.format.deepspeed.ZeroLayout.Param;
import ckpt.format.pickle.PyDict;
import ckpt.format.torchsave.TensorRef;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * A DeepSpeed universal checkpoint ({@code ds_to_universal.py}): the source's model states copied as they were,
 * and one folder per parameter under {@code zero/} holding its consolidated optimizer state — {@code fp32.pt},
 * {@code exp_avg.pt}, {@code exp_avg_sq.pt} ({@code {"param": tensor, "cat_dim": …}}) and {@code step.pt} (a bare
 * tensor) — plus {@code zero/optimizer_state.pt} (param groups, loss scaler). A ZeRO-3 source gives 1-d tensors of
 * {@code numel} elements; their true shape is the model states' {@code param_shapes}.
 */
public final class UniversalCheckpoint implements MappedSource, AutoCloseable {
    public static final String ZERO_DIR = "zero";
    public static final List<String> STATE_FILES = List.of("fp32", "exp_avg", "exp_avg_sq", "step");

    private final Path dir;
    private final ZeroFiles files;
    private final RankFile modelStates;
    private final List<Param> params;
    private final Map<String, Map<String, StoredTensor>> state;
    private final List<RankFile> otherFiles;
    private final Map<String, Object> facts;

    private UniversalCheckpoint(Path dir, ZeroFiles files, RankFile modelStates, List<Param> params,
                                Map<String, Map<String, StoredTensor>> state, List<RankFile> otherFiles, Map<String, Object> facts) {
        this.dir = dir;
        this.files = files;
        this.modelStates = modelStates;
        this.params = params;
        this.state = state;
        this.otherFiles = otherFiles;
        this.facts = facts;
    }

    public static boolean isUniversal(Path dir) {
        return Files.isDirectory(dir.resolve(ZERO_DIR));
    }

    public static UniversalCheckpoint open(Path dir) {
        ZeroFiles files = new ZeroFiles(dir);
        try {
            return read(dir, files);
        } catch (RuntimeException e) {
            files.close();
            throw e;
        }
    }

    private static UniversalCheckpoint read(Path dir, ZeroFiles files) {
        String modelName = modelStatesName(dir);
        RankFile model = files.open(modelName, 0);
        if (!(model.root() instanceof PyDict root)) throw model.error("not a DeepSpeed model states file (not a dict)");
        PyValues.integer(root.get("mp_world_size")).filter(n -> n > 1).ifPresent(n -> {
            throw new FormatException(dir, "model-parallel DeepSpeed universal checkpoint (mp_world_size " + n + "): not supported yet");
        });
        Map<String, long[]> shapes = new LinkedHashMap<>();
        PyValues.list(root.get("param_shapes")).or(() -> Optional.of(List.of(root.get("param_shapes")))).get().forEach(g -> {
            if (g instanceof PyDict d) d.items().forEach((k, v) -> shapes.put(String.valueOf(k), PyValues.shape(v)
                    .orElseThrow(() -> model.error("param_shapes[" + k + "] is not a shape"))));
        });
        Path zero = dir.resolve(ZERO_DIR);
        TreeSet<String> folders = new TreeSet<>();
        try (Stream<Path> s = Files.list(zero)) {
            for (Path p : (Iterable<Path>) s::iterator) if (Files.isDirectory(p)) folders.add(p.getFileName().toString());
        } catch (IOException e) {
            throw new FormatException(zero, "cannot list directory: " + e.getMessage(), e);
        }
        // Parameters in param_shapes order (the model's), then folders param_shapes does not name.
        List<String> names = new ArrayList<>(shapes.keySet());
        for (String f : folders) if (!shapes.containsKey(f)) names.add(f);
        List<Param> params = new ArrayList<>();
        Map<String, Map<String, StoredTensor>> state = new LinkedHashMap<>();
        for (String name : names) {
            if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.equals(".") || name.equals(".."))
                throw model.error("parameter name '" + InputText.excerpt(name) + "' cannot be a folder under zero/");
            if (!folders.contains(name))
                throw new FormatException(zero.resolve(name), "parameter " + name + " of param_shapes has no folder under zero/");
            Map<String, StoredTensor> kinds = new LinkedHashMap<>();
            for (String kind : STATE_FILES) {
                String rel = ZERO_DIR + "/" + name + "/" + kind + ".pt";
                if (!Files.isRegularFile(dir.resolve(rel))) {
                    if (kind.equals("fp32")) throw new FormatException(dir.resolve(rel), "parameter " + name + " has no fp32.pt");
                    continue;
                }
                RankFile f = files.open(rel, 0);
                Object v = f.root();
                if (v instanceof PyDict d) v = d.get("param");
                if (!(v instanceof TensorRef t)) throw f.error("holds no tensor (expected {'param': tensor, …} or a tensor)");
                kinds.put(kind, f.stored(t, kind));
            }
            TensorRef fp32 = kinds.get("fp32").tensor();
            long[] shape = shapes.getOrDefault(name, fp32.shape());
            long numel = ckpt.format.tensor.Shapes.numel(shape);
            for (var e : kinds.entrySet()) {
                if (e.getKey().equals("step")) continue;
                if (e.getValue().tensor().numel() != numel)
                    throw e.getValue().file().error(e.getKey() + " holds " + e.getValue().tensor().numel() + " elements, parameter "
                            + name + " has shape " + java.util.Arrays.toString(shape));
            }
            params.add(new Param(name, shape));
            state.put(name, kinds);
        }
        List<RankFile> other = new ArrayList<>();
        if (Files.isRegularFile(zero.resolve("optimizer_state.pt"))) other.add(files.open(ZERO_DIR + "/optimizer_state.pt", 0));
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("ds_version", root.get("ds_version"));
        facts.put("global_steps", root.get("global_steps"));
        facts.put("dp_world_size", root.get("dp_world_size"));
        if (!other.isEmpty() && other.getFirst().root() instanceof PyDict os) {
            PyValues.stage(os.get("zero_stage")).ifPresent(s -> facts.put("source_zero_stage", s));
            PyValues.attr(os.get("loss_scaler"), "cur_scale").ifPresent(v -> facts.put("loss_scale", v));
        }
        return new UniversalCheckpoint(dir, files, model, List.copyOf(params), state, List.copyOf(other), facts);
    }

    private static String modelStatesName(Path dir) {
        for (String n : List.of(ZeroFileName.modelStates(0), ZeroFileName.zeroModelStates(0, 0)))
            if (Files.isRegularFile(dir.resolve(n))) return n;
        throw new FormatException(dir, "universal checkpoint without model states (mp_rank_00_model_states.pt)");
    }

    public Path dir() {
        return dir;
    }

    public RankFile modelStates() {
        return modelStates;
    }

    /** Parameters with their true shapes (param_shapes), in the model's order. */
    public List<Param> params() {
        return params;
    }

    /** Parameter → kind ({@code fp32}, {@code exp_avg}, {@code exp_avg_sq}, {@code step}) → stored tensor. */
    public Map<String, Map<String, StoredTensor>> state() {
        return state;
    }

    /** {@code zero/optimizer_state.pt} when present. */
    public List<RankFile> otherFiles() {
        return otherFiles;
    }

    public Map<String, Object> facts() {
        return facts;
    }

    @Override
    public void releaseMappings() {
        files.releaseMappings();
    }

    @Override
    public void close() {
        files.close();
    }
}
