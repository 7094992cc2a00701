package ckpt.format.safetensors;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders {@code model.safetensors.index.json} byte-for-byte as transformers writes it:
 * {@code json.dumps(index, indent=2, sort_keys=True) + "\n"} with
 * {@code index = {"metadata": {"total_size": …, **extra}, "weight_map": {name: shard file}}}.
 */
public final class HfIndexWriter {
    private HfIndexWriter() {
    }

    /**
     * @param extraMetadata further {@code metadata} keys (e.g. {@code total_parameters}); values may be strings,
     *                      integers, booleans, null, lists and string-keyed maps of those. Floats are refused
     *                      because Python's float repr is not reproduced.
     */
    public static byte[] render(long totalSize, Map<String, String> weightMap, Map<String, Object> extraMetadata) {
        Map<String, Object> metadata = new LinkedHashMap<>();
        if (extraMetadata != null) {
            if (extraMetadata.containsKey("total_size")) {
                throw new IllegalArgumentException("total_size is given separately, not in extraMetadata");
            }
            metadata.putAll(extraMetadata);
        }
        metadata.put("total_size", totalSize);
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("metadata", metadata);
        index.put("weight_map", new LinkedHashMap<String, Object>(weightMap));
        StringBuilder out = new StringBuilder();
        value(out, index, 0);
        return out.append('\n').toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static void value(StringBuilder out, Object v, int depth) {
        switch (v) {
            case null -> out.append("null");
            case String s -> JsonText.pythonAscii(out, JsonText.requireWellFormed(s, "string"));
            case Boolean b -> out.append(b ? "true" : "false");
            case Long l -> out.append(l);
            case Integer i -> out.append(i);
            case Short s -> out.append(s);
            case Byte b -> out.append(b);
            case BigInteger b -> out.append(b);
            case Map<?, ?> m -> object(out, m, depth);
            case Collection<?> c -> array(out, c, depth);
            default -> throw new IllegalArgumentException("cannot render " + v.getClass().getName() + " like Python");
        }
    }

    private static void object(StringBuilder out, Map<?, ?> m, int depth) {
        if (m.isEmpty()) {
            out.append("{}");
            return;
        }
        List<String> keys = new ArrayList<>();
        for (Object k : m.keySet()) {
            if (!(k instanceof String s)) throw new IllegalArgumentException("non-string key " + k);
            keys.add(s);
        }
        keys.sort(JsonText::compare);
        out.append('{');
        for (int i = 0; i < keys.size(); i++) {
            out.append(i == 0 ? "" : ",");
            newline(out, depth + 1);
            JsonText.pythonAscii(out, JsonText.requireWellFormed(keys.get(i), "key"));
            out.append(": ");
            value(out, m.get(keys.get(i)), depth + 1);
        }
        newline(out, depth);
        out.append('}');
    }

    private static void array(StringBuilder out, Collection<?> c, int depth) {
        if (c.isEmpty()) {
            out.append("[]");
            return;
        }
        out.append('[');
        int i = 0;
        for (Object v : c) {
            out.append(i++ == 0 ? "" : ",");
            newline(out, depth + 1);
            value(out, v, depth + 1);
        }
        newline(out, depth);
        out.append(']');
    }

    private static void newline(StringBuilder out, int depth) {
        out.append('\n').repeat(' ', 2 * depth);
    }
}
