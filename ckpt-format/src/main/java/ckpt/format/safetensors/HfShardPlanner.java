package ckpt.format.safetensors;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Splits an ordered list of tensors into safetensors shards exactly like huggingface_hub's
 * {@code split_state_dict_into_shards_factory} (which transformers' {@code save_pretrained} uses): one greedy pass;
 * a tensor larger than the limit gets a shard of its own, appended immediately (so it can precede the shard still
 * being filled); otherwise a new shard starts when adding the tensor would exceed the limit.
 */
public final class HfShardPlanner {
    public static final long DEFAULT_MAX_SHARD_SIZE = 5_000_000_000L;

    private HfShardPlanner() {
    }

    public record TensorSize(String name, long bytes) {
        public TensorSize {
            if (bytes < 0) throw new IllegalArgumentException("negative size for " + name);
        }
    }

    /** One output file and the tensors it holds, in state-dict order. */
    public record Shard(String fileName, List<String> names, long bytes) {
        public Shard {
            names = List.copyOf(names);
        }
    }

    public record Plan(List<Shard> shards, long totalSize) {
        public Plan {
            shards = List.copyOf(shards);
        }

        /** More than one file, so an index is written. */
        public boolean isSharded() {
            return shards.size() > 1;
        }

        /** Tensor name → shard file name, for {@link HfIndexWriter}. */
        public Map<String, String> weightMap() {
            Map<String, String> m = new LinkedHashMap<>();
            for (Shard s : shards) for (String n : s.names()) m.put(n, s.fileName());
            return Collections.unmodifiableMap(m);
        }
    }

    /**
     * Plans shards named {@code model-0000k-of-0000n.safetensors}, or one {@code model.safetensors} when everything
     * fits in a single shard (transformers loads both). No tensors → no shards, as in the reference.
     */
    public static Plan plan(List<TensorSize> tensors, long maxShardSize) {
        if (maxShardSize < 0) throw new IllegalArgumentException("negative max shard size");
        List<List<TensorSize>> shards = new ArrayList<>();
        List<TensorSize> current = new ArrayList<>();
        long currentSize = 0, total = 0;
        for (TensorSize t : tensors) {
            total = Math.addExact(total, t.bytes());
            if (t.bytes() > maxShardSize) {
                shards.add(List.of(t));
                continue;
            }
            if (currentSize + t.bytes() > maxShardSize) {
                shards.add(current);
                current = new ArrayList<>();
                currentSize = 0;
            }
            current.add(t);
            currentSize += t.bytes();
        }
        if (!current.isEmpty()) shards.add(current);

        List<Shard> out = new ArrayList<>();
        for (int i = 0; i < shards.size(); i++) {
            String name = shards.size() == 1 ? "model.safetensors"
                    : String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, shards.size());
            long bytes = 0;
            List<String> names = new ArrayList<>();
            for (TensorSize t : shards.get(i)) {
                names.add(t.name());
                bytes += t.bytes();
            }
            out.add(new Shard(name, names, bytes));
        }
        return new Plan(out, total);
    }

    /**
     * Parses a size such as {@code "5GB"} (decimal, 5·10⁹), {@code "5GiB"} (binary, 5·2³⁰), {@code "500MB"},
     * {@code "1.5TB"}, {@code "100KB"}, {@code "64B"} or a plain byte count; units are case-insensitive. Fractions
     * are truncated toward zero like Python's {@code int(value * multiplier)}, but computed exactly.
     */
    public static long parseSize(String text) {
        String s = text.strip();
        String upper = s.toUpperCase(Locale.ROOT);
        long multiplier = 1;
        int unitLength = 0;
        String[][] units = {{"KIB", "1024"}, {"MIB", "1048576"}, {"GIB", "1073741824"}, {"TIB", "1099511627776"},
                {"KB", "1000"}, {"MB", "1000000"}, {"GB", "1000000000"}, {"TB", "1000000000000"}, {"B", "1"}};
        for (String[] u : units) {
            if (upper.endsWith(u[0])) {
                multiplier = Long.parseLong(u[1]);
                unitLength = u[0].length();
                break;
            }
        }
        String number = s.substring(0, s.length() - unitLength).strip();
        if (!number.matches("[0-9]+(\\.[0-9]*)?|\\.[0-9]+")) {
            throw new IllegalArgumentException("not a size: '" + text + "' (expected e.g. 5GB, 5GiB, 500MB)");
        }
        BigDecimal bytes = new BigDecimal(number).multiply(BigDecimal.valueOf(multiplier))
                .setScale(0, RoundingMode.DOWN);
        try {
            return bytes.longValueExact();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("size too large: '" + text + "'");
        }
    }
}
