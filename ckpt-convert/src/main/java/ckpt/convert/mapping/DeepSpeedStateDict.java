package ckpt.convert.mapping;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.DeepSpeedIndexer;
import ckpt.convert.index.GlobalTensor;
import ckpt.convert.plan.DtypeChoice;
import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.TensorSlice;
import ckpt.format.FormatException;
import ckpt.format.tensor.DType;
import ckpt.format.tensor.Shapes;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What {@code ckpt convert} writes for a DeepSpeed checkpoint: the state dict DeepSpeed's {@code zero_to_fp32}
 * builds — buffers (as float32, like its {@code v.float()}), frozen parameters, the fp32 master of every trainable
 * parameter, and tied aliases — under the same names, one tensor at a time from the flat partitions. For
 * {@code --format huggingface} the names are already the model's (a Hugging Face model trained under DeepSpeed);
 * {@code config.json} comes from {@code --config DIR}, the tag directory, or the directory holding it (where the HF
 * Trainer saves it next to {@code global_stepN/}), and its {@code architectures} must be a family ckpt writes.
 */
public final class DeepSpeedStateDict {
    public static final String CONFIG = "config.json";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A config.json is a few kB; a larger one is not a model config. */
    private static final long MAX_CONFIG_BYTES = 4L << 20;

    private DeepSpeedStateDict() {
    }

    /** {@code zero_to_fp32}'s state dict, in its order; {@code withAliases} false leaves tied duplicates out. */
    public static List<OutputTensor> tensors(CheckpointIndex index, boolean withAliases) {
        Map<String, String> shared = DeepSpeedIndexer.sharedParams(index);
        List<Object> buffers = index.details().get("buffer_names") instanceof List<?> l ? List.copyOf(l) : List.of();
        List<OutputTensor> out = new ArrayList<>();
        for (String key : DeepSpeedIndexer.stateDictKeys(index)) {
            if (!withAliases && shared.containsKey(key)) continue;
            String source = shared.getOrDefault(key, key);
            GlobalTensor t = index.tensor(source).orElseThrow(() -> new FormatException(index.path(), "no tensor for " + source));
            String name = key.startsWith(DeepSpeedIndexer.MODULE_PREFIX) ? key.substring(DeepSpeedIndexer.MODULE_PREFIX.length()) : key;
            OutputTensor o = OutputTensor.of(name, TensorSlice.whole(t));
            if (buffers.contains(key) && DtypeChoice.isCastable(t.dtype())) o = o.withDtype(DType.FLOAT32);
            out.add(o);
        }
        if (out.isEmpty()) throw new FormatException(index.path(), "the DeepSpeed checkpoint holds no parameters");
        return out;
    }

    /** The HF {@code config.json} for this checkpoint, parsed; a clear error when none is found. */
    public static Map<String, Object> hfConfig(CheckpointIndex index, Path configDir) {
        Path file = configFile(index, configDir).orElseThrow(() -> new FormatException(index.path(),
                "--format huggingface needs the model's config.json: none in the checkpoint dir or beside it; pass --config DIR"));
        try {
            if (Files.size(file) > MAX_CONFIG_BYTES) throw new FormatException(file, "too large for a model config");
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null || !n.isObject()) throw new FormatException(file, "not a JSON object");
            @SuppressWarnings("unchecked")
            Map<String, Object> m = JSON.convertValue(n, LinkedHashMap.class);
            return m;
        } catch (IOException e) {
            throw new FormatException(file, "cannot read config.json: " + ckpt.format.JsonErrors.describe(e), e);
        }
    }

    /** {@code --config DIR}'s config.json, else one in the tag dir or the directory above it. */
    public static Optional<Path> configFile(CheckpointIndex index, Path configDir) {
        if (configDir != null) {
            Path f = Files.isDirectory(configDir) ? configDir.resolve(CONFIG) : configDir;
            if (!Files.isRegularFile(f)) throw new FormatException(f, "--config: no config.json there");
            return Optional.of(f);
        }
        Path tag = index.path();
        for (Path d : new Path[]{tag, tag.toAbsolutePath().getParent()})
            if (d != null && Files.isRegularFile(d.resolve(CONFIG))) return Optional.of(d.resolve(CONFIG));
        return Optional.empty();
    }

    /** The HF family the config names ({@code architectures}, else {@code model_type}), among those ckpt writes. */
    public static HfMapping family(CheckpointIndex index, Map<String, Object> config) {
        Object archs = config.get("architectures");
        String arch = archs instanceof List<?> l && !l.isEmpty() ? String.valueOf(l.getFirst()) : null;
        Object type = config.get("model_type");
        for (HfMapping m : HfMappings.all())
            if (arch != null ? m.architecture().equals(arch) : m.name().equals(type)) return m;
        List<String> known = HfMappings.all().stream().map(HfMapping::architecture).toList();
        throw new FormatException(index.path(), "config.json names " + (arch != null ? "architecture " + arch : "model_type " + type)
                + "; ckpt writes " + String.join(", ", known));
    }

    /** The tensors an HF export writes: the state dict without tied aliases, which transformers re-ties on load. */
    public static List<OutputTensor> hfTensors(CheckpointIndex index, Map<String, Object> config) {
        family(index, config);
        boolean tied = !Boolean.FALSE.equals(config.get("tie_word_embeddings"));
        List<OutputTensor> out = tensors(index, !tied);
        long elements = 0;
        for (OutputTensor t : out) elements = Math.addExact(elements, Shapes.numel(t.shape()));
        if (elements == 0) throw new FormatException(index.path(), "no weights to export");
        return out;
    }

    /** The config written next to the weights: the model's, with its dtype field naming what was written. */
    public static Map<String, Object> writtenConfig(CheckpointIndex index, Map<String, Object> config, List<OutputTensor> tensors) {
        Map<String, Object> m = new LinkedHashMap<>(config);
        m.putIfAbsent("architectures", List.of(family(index, config).architecture()));
        DType d = tensors.stream().map(OutputTensor::dtype).filter(DtypeChoice::isCastable).findFirst().orElse(null);
        if (d != null) {
            if (m.containsKey("torch_dtype") || !m.containsKey("dtype")) m.put("torch_dtype", d.torchName());
            if (m.containsKey("dtype")) m.put("dtype", d.torchName());
        }
        return m;
    }

    /** Where tokenizer files may sit: beside the config the export uses. */
    public static Optional<Path> tokenizerCandidate(CheckpointIndex index, Path configDir) {
        return configFile(index, configDir).map(Path::getParent);
    }
}
