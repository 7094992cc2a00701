package ckpt.convert.memory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * {@code --gpu-memory}: whether the planned run fits, and if not, the smallest change that does. Changes are tried
 * in order of what they cost — recompute and optimizer sharding cost compute or communication but no GPUs; a smaller
 * micro batch costs efficiency; full recompute costs about a third more compute; more TP or PP costs more GPUs —
 * one at a time, then two at a time; the first that fits is the suggestion, each tried change is listed with its
 * numbers.
 */
public final class FitPlanner {
    private FitPlanner() {
    }

    /** One tried change: the options to add, the resulting estimate, whether it fits. */
    public record Candidate(String change, Map<String, Object> overrides, MemoryEstimate estimate, boolean fits) {
    }

    public record Fit(double gpuBytes, boolean fits, Candidate suggestion, List<Candidate> tried) {
        public Fit {
            tried = List.copyOf(tried);
        }
    }

    record Change(String text, Map<String, Object> overrides) {
    }

    public static Fit plan(Map<String, Object> current, Function<Map<String, Object>, MemoryEstimate> estimate, double gpuBytes) {
        MemoryEstimate now = estimate.apply(current);
        if (now.totalBytes() <= gpuBytes) return new Fit(gpuBytes, true, null, List.of());
        List<Change> singles = singles(now.args());
        List<Candidate> tried = new ArrayList<>();
        for (Change c : singles) {
            Candidate cand = evaluate(current, c, estimate, gpuBytes);
            if (cand == null) continue;
            tried.add(cand);
            if (cand.fits) return new Fit(gpuBytes, false, cand, tried);
        }
        for (int i = 0; i < singles.size(); i++) {
            for (int j = i + 1; j < singles.size(); j++) {
                Change a = singles.get(i), b = singles.get(j);
                if (!compatible(a, b)) continue;
                Map<String, Object> o = new LinkedHashMap<>(a.overrides);
                o.putAll(b.overrides);
                Candidate cand = evaluate(current, new Change(a.text + " " + b.text, o), estimate, gpuBytes);
                if (cand != null && cand.fits) {
                    tried.add(cand);
                    return new Fit(gpuBytes, false, cand, tried);
                }
            }
        }
        return new Fit(gpuBytes, false, null, tried);
    }

    /** Two changes combine when they do not set the same arg. */
    private static boolean compatible(Change a, Change b) {
        for (String k : a.overrides.keySet()) if (b.overrides.containsKey(k)) return false;
        return true;
    }

    private static Candidate evaluate(Map<String, Object> current, Change c, Function<Map<String, Object>, MemoryEstimate> estimate, double gpu) {
        Map<String, Object> o = new LinkedHashMap<>(current);
        o.putAll(c.overrides);
        try {
            MemoryEstimate e = estimate.apply(o);
            return new Candidate(c.text, c.overrides, e, e.totalBytes() <= gpu);
        } catch (IllegalArgumentException ex) {
            return null; // not a valid run (e.g. the global batch does not divide)
        }
    }

    private static List<Change> singles(Map<String, Object> a) {
        List<Change> out = new ArrayList<>();
        long tp = num(a, "tensor_model_parallel_size"), pp = num(a, "pipeline_model_parallel_size");
        long dp = num(a, "data_parallel_size"), mbs = num(a, "micro_batch_size"), cp = num(a, "context_parallel_size");
        long layers = num(a, "num_layers"), heads = num(a, "num_attention_heads");
        String g = a.get("recompute_granularity") == null ? "none" : String.valueOf(a.get("recompute_granularity"));
        boolean sp = Boolean.TRUE.equals(a.get("sequence_parallel"));
        if (g.equals("none")) {
            Map<String, Object> o = new LinkedHashMap<>(Map.of("recompute_granularity", "selective"));
            if (tp > 1 && !sp) o.put("sequence_parallel", true);
            out.add(new Change("--recompute-granularity selective" + (o.containsKey("sequence_parallel") ? " --sequence-parallel" : ""), o));
        }
        if (tp > 1 && !sp && !g.equals("none")) out.add(new Change("--sequence-parallel", Map.of("sequence_parallel", true)));
        if (!Boolean.TRUE.equals(a.get("use_distributed_optimizer")) && dp > 1)
            out.add(new Change("--distributed-optimizer", Map.of("use_distributed_optimizer", true)));
        for (long m = mbs / 2; m >= 1; m /= 2) out.add(new Change("--micro-batch-size " + m, Map.of("micro_batch_size", m)));
        if (!g.equals("full"))
            out.add(new Change("--recompute-granularity full --recompute-method uniform --recompute-num-layers 1",
                    Map.of("recompute_granularity", "full", "recompute_method", "uniform", "recompute_num_layers", 1L)));
        for (long t = tp * 2; t <= 64 && heads % t == 0; t *= 2)
            out.add(new Change("--tp " + t + " (world " + t * pp * dp * cp + " GPUs)",
                    Map.of("tensor_model_parallel_size", t)));
        for (long p = pp * 2; p <= layers; p *= 2)
            if (layers % p == 0)
                out.add(new Change("--pp " + p + " (world " + tp * p * dp * cp + " GPUs)",
                        Map.of("pipeline_model_parallel_size", p)));
        return out;
    }

    private static long num(Map<String, Object> a, String k) {
        return TrainingArgs.asLong(a.get(k));
    }

    /** "80GB" (10^9), "80GiB" (2^30), "80G" (= GiB), "81920MiB", or plain bytes. */
    public static double parseSize(String s) {
        String t = s.trim().toUpperCase(java.util.Locale.ROOT);
        String[][] units = {{"TIB", "1099511627776"}, {"GIB", "1073741824"}, {"MIB", "1048576"}, {"TB", "1e12"}, {"GB", "1e9"},
                {"MB", "1e6"}, {"T", "1099511627776"}, {"G", "1073741824"}, {"M", "1048576"}, {"B", "1"}};
        for (String[] u : units) {
            if (t.endsWith(u[0])) {
                try {
                    double v = Double.parseDouble(t.substring(0, t.length() - u[0].length()).trim()) * Double.parseDouble(u[1]);
                    if (v > 0) return v;
                } catch (NumberFormatException ignored) {
                    // fall through to the error
                }
                break;
            }
        }
        try {
            double v = Double.parseDouble(t);
            if (v > 0) return v;
        } catch (NumberFormatException ignored) {
            // fall through
        }
        throw new IllegalArgumentException("--gpu-memory '" + s + "': expected a size such as 80GB, 80GiB or 81920MiB");
    }
}
