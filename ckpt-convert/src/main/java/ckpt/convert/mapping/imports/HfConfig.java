package ckpt.convert.mapping.imports;

import ckpt.format.FormatException;
import ckpt.format.tensor.DType;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** An HF {@code config.json}, read with limits and typed getters that name the file and field on a bad value. */
public record HfConfig(Path file, Map<String, Object> values) {
    private static final long MAX_BYTES = 16L << 20;

    public static HfConfig read(Path dir) {
        Path f = dir.resolve("config.json");
        try {
            if (!Files.isRegularFile(f)) throw new FormatException(dir, "no config.json: an HF model dir needs one to describe the architecture");
            if (Files.size(f) > MAX_BYTES) throw new FormatException(f, "config.json larger than " + MAX_BYTES + " bytes");
            ObjectMapper json = new ObjectMapper();
            json.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build());
            Object v = json.readValue(f.toFile(), Object.class);
            if (!(v instanceof Map<?, ?> m)) throw new FormatException(f, "config.json is not a JSON object");
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put(String.valueOf(k), x));
            return new HfConfig(f, out);
        } catch (IOException e) {
            throw new FormatException(f, "unreadable config.json: " + ckpt.format.JsonErrors.describe(e));
        }
    }

    public Optional<Object> get(String name) {
        return Optional.ofNullable(values.get(name));
    }

    public String modelType() {
        return get("model_type").map(String::valueOf).orElseThrow(() -> new FormatException(file, "config.json has no model_type"));
    }

    public long requireLong(String... names) {
        for (String n : names) {
            Optional<Long> v = optLong(n);
            if (v.isPresent()) return v.get();
        }
        throw new FormatException(file, "config.json has no " + String.join(" / ", names));
    }

    public Optional<Long> optLong(String name) {
        Object v = values.get(name);
        if (v == null) return Optional.empty();
        if (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue()) && n.doubleValue() > 0) return Optional.of(n.longValue());
        throw new FormatException(file, "config.json field " + name + " = " + v + " is not a positive integer");
    }

    public Optional<Double> optDouble(String name) {
        Object v = values.get(name);
        if (v == null) return Optional.empty();
        if (v instanceof Number n) return Optional.of(n.doubleValue());
        throw new FormatException(file, "config.json field " + name + " = " + v + " is not a number");
    }

    public boolean flag(String name, boolean dflt) {
        Object v = values.get(name);
        if (v == null) return dflt;
        if (v instanceof Boolean b) return b;
        throw new FormatException(file, "config.json field " + name + " = " + v + " is not true/false");
    }

    @SuppressWarnings("unchecked")
    public Optional<Map<String, Object>> object(String name) {
        Object v = values.get(name);
        return v instanceof Map<?, ?> m ? Optional.of((Map<String, Object>) m) : Optional.empty();
    }

    /** {@code dtype} (transformers ≥ 4.56) or {@code torch_dtype}, as a ckpt dtype; empty when absent. */
    public Optional<DType> dtype() {
        for (String k : List.of("dtype", "torch_dtype")) {
            Object v = values.get(k);
            if (v instanceof String s) {
                for (DType d : List.of(DType.BFLOAT16, DType.FLOAT16, DType.FLOAT32))
                    if (d.torchName().equals("torch." + s) || d.torchName().equals(s)) return Optional.of(d);
            }
        }
        return Optional.empty();
    }

    public FormatException refuse(String why) {
        return new FormatException(file, why);
    }
}
