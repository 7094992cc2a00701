package ckpt.convert.memory;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Per-GPU training memory from Megatron args. Weights, gradients and optimizer state come from Megatron's own
 * parameter count of the most loaded shard ({@link MegatronFormulas}); activations from Megatron's functions where
 * it models the configuration, and from Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large
 * Transformer Models") Table 2 elsewhere: full recompute (uniform/block, recompute_num_layers), and DeepSpeed's
 * activation checkpointing (partition_activations, cpu_checkpointing). Symbols: s sequence, b micro batch, h
 * hidden, f FFN hidden, V padded vocab, L layers, t TP, p PP, a heads, d head dim.
 */
public final class MemoryEstimator {
    private MemoryEstimator() {
    }

    /** A value that does not describe a run: the options' fault when they set one of {@code keys}, else the checkpoint's. */
    private static IllegalArgumentException invalid(TrainingArgs a, String message, String... keys) {
        return a.fromOptions(keys) ? new RunOptionException(message) : new IllegalArgumentException("saved args: " + message);
    }

    public static MemoryEstimate estimate(TrainingArgs a) {
        long dp = a.getLong("data_parallel_size"), mbs = a.getLong("micro_batch_size"), gbs = a.getLong("global_batch_size");
        if (gbs % Math.multiplyExact(mbs, dp) != 0)
            throw invalid(a, "global batch " + gbs + " is not a multiple of micro batch " + mbs + " × DP " + dp,
                    "global_batch_size", "micro_batch_size", "data_parallel_size", "tensor_model_parallel_size",
                    "pipeline_model_parallel_size", "context_parallel_size");
        long nmb = gbs / (mbs * dp);
        List<String> notes = new ArrayList<>();
        MegatronFormulas.Shard shard = MegatronFormulas.weightAndOptimizer(a);
        boolean dist = a.flag("use_distributed_optimizer");
        double dense = shard.tpSharded() + shard.replicated(), expert = shard.expertSharded();
        List<MemoryLine> lines = new ArrayList<>();
        String meg = "Megatron theoretical_memory_usage.py (num_bytes_per_parameter: 2 + 4 + 12)";
        lines.add(new MemoryLine("weights", shard.parameters() * 2, "P_gpu × 2 B (bf16 parameters)", meg));
        lines.add(new MemoryLine("gradients", shard.parameters() * 4, "P_gpu × 4 B (fp32 main gradients)", meg));
        String optFormula = dist
                ? "P_dense × 12 B / DP(" + dp + ")" + (expert > 0 ? " + P_expert × 12 B / expert DP(" + shard.expertDataParallel() + ")" : "")
                + " (fp32 master + Adam m, v; distributed optimizer)"
                : "P_gpu × 12 B (fp32 master + Adam m, v; not sharded)";
        double opt = dist ? dense * 12 / dp + expert * 12 / shard.expertDataParallel() : shard.parameters() * 12;
        lines.add(new MemoryLine("optimizer state", opt, optFormula, meg));

        Activations act = activations(a, nmb, notes);
        lines.add(new MemoryLine("activations", act.bytes, act.formula, act.source));
        if (act.host > 0)
            notes.add(String.format(Locale.ROOT, "cpu_checkpointing keeps %.0f bytes of checkpointed layer inputs in host memory", act.host));
        long cp = a.getLong("context_parallel_size");
        if (cp > 1) notes.add("context parallel size " + cp + ": activations divided by CP (the sequence is split); Megatron's function ignores CP");
        Flops f = recomputeFlops(a);
        return new MemoryEstimate(a.asMap(), nmb, shard.parameters(), shard.totalParameters(), lines,
                shard.weightAndOptimizerBytes(), act.bytes, act.megatron, act.model, f.fraction, f.formula, act.host, notes);
    }

    record Activations(double bytes, String formula, String source, String model, boolean megatron, double host) {
    }

    private static String granularity(TrainingArgs a) {
        return a.string("recompute_granularity").orElse("none");
    }

    static Activations activations(TrainingArgs a, long nmb, List<String> notes) {
        String g = granularity(a);
        boolean sp = a.flag("sequence_parallel");
        long cp = a.getLong("context_parallel_size");
        Activations r;
        if (g.equals("selective") && sp) {
            r = new Activations(MegatronFormulas.activationWithSp(a, nmb),
                    "[sbh(18 + 4f/h)·L + (8sb + sbh)·p] × schedule + sbh·4(1 + V/h) if p=1, all / t",
                    "Megatron compute_activation_memory = Table 2 'selective recompute + sequence parallel' 34sbh/t per layer (f = 4h)",
                    "selective recompute + sequence parallel", true, 0);
        } else if (g.equals("none") || g.equals("selective")) {
            boolean none = g.equals("none");
            r = new Activations(MegatronFormulas.activationWithoutSp(a, nmb),
                    "([sbh(10 + 24/t)·L + (8sb + sbh)·p] × schedule + 2(sbV/t + sbh) if p=1) × 1.05",
                    none ? "Megatron compute_activation_memory_without_sp (assumes flash attention: Table 2 'tensor parallel' row without its 5as²b/t score term"
                            + (sp ? "; Megatron applies this no-SP formula also with sequence parallel" : "") + ")"
                            : "Table 2 'tensor parallel + selective recompute' row sbh(10 + 24/t) per layer = Megatron's compute_activation_memory_without_sp",
                    none ? "no recompute" : "selective recompute without sequence parallel", none, 0);
        } else if (g.equals("full")) {
            r = full(a, nmb, notes);
        } else {
            throw invalid(a, "--recompute-granularity must be none, selective or full, not " + g, "recompute_granularity");
        }
        if (cp > 1) r = new Activations(r.bytes / cp, "(" + r.formula + ") / CP", r.source, r.model, false, r.host / cp);
        return r;
    }

    /**
     * Full recompute, first stage: each recompute unit stores only its input (2sbh bytes, /t with sequence
     * parallel or partitioned activations, 0 on the GPU with cpu_checkpointing); one unit at a time is
     * rematerialized in the backward pass with its full per-layer activations (Table 2's 'full recompute' row
     * 2sbh per layer, plus that working set). uniform: units of N layers; block: the first N layers of a stage one
     * by one, the other layers keep everything.
     */
    static Activations full(TrainingArgs a, long nmb, List<String> notes) {
        long s = a.getLong("seq_length"), b = a.getLong("micro_batch_size"), h = a.getLong("hidden_size");
        long t = a.getLong("tensor_model_parallel_size"), p = a.getLong("pipeline_model_parallel_size"), L = a.getLong("num_layers");
        boolean sp = a.flag("sequence_parallel");
        String method = a.string("recompute_method").orElse("uniform");
        long n = a.optLong("recompute_num_layers").orElse(1L);
        if (n < 1) throw invalid(a, "--recompute-num-layers must be at least 1", "recompute_num_layers");
        long perStage = Math.ceilDiv(L, p);
        boolean partition = a.flag("distribute_saved_activations") || a.flag("deepspeed_partition_activations");
        boolean cpu = a.flag("deepspeed_cpu_checkpointing");
        double sbh = (double) (s * b * h);
        double checkpoint = 2 * sbh / (sp || partition ? t : 1);
        double layerFull = sp ? sbh * (18 + 4 * ((double) a.getLong("ffn_hidden_size") / h)) / t : sbh * (10 + 24.0 / t);
        double stored, working;
        long units;
        String unitText;
        if (method.equals("uniform")) {
            units = Math.ceilDiv(perStage, n);
            stored = cpu ? 0 : units * checkpoint;
            working = Math.min(n, perStage) * layerFull;
            unitText = "⌈L/p / N⌉ = " + units + " checkpointed inputs + N = " + Math.min(n, perStage) + " layers rematerialized";
        } else if (method.equals("block")) {
            units = Math.min(n, perStage);
            stored = (cpu ? 0 : units * checkpoint) + (perStage - units) * layerFull;
            working = units > 0 ? layerFull : 0;
            unitText = "N = " + units + " checkpointed inputs + (L/p − N) = " + (perStage - units) + " layers stored whole + 1 layer rematerialized";
        } else {
            throw invalid(a, "--recompute-method must be uniform or block, not " + method, "recompute_method");
        }
        // In-flight microbatches on the first stage, as Megatron counts them: p, × the interleaving penalty, or
        // fewer when the step has fewer microbatches than stages.
        double inflight = MegatronFormulas.pipelineSchedule(a, p, nmb);
        // Embedding input/dropout and (p = 1) output-layer terms: Megatron's own, from its function with no layers.
        TrainingArgs rest = a.with("num_layers", 0L);
        double other = sp ? MegatronFormulas.activationWithSp(rest, nmb) : MegatronFormulas.activationWithoutSp(rest, nmb);
        double bytes = inflight * stored + working + other;
        String ckptText = "2sbh" + (sp || partition ? "/t" : "") + (cpu ? " (in host memory)" : "");
        String layerText = sp ? "sbh(18 + 4f/h)/t" : "sbh(10 + 24/t)";
        String formula = "in-flight microbatches(" + trim(inflight) + ") × stored + working + embedding/output terms; "
                + method + ": " + unitText + "; checkpoint = " + ckptText + ", layer = " + layerText;
        String source = "Table 2 'full recompute' row (2sbh per layer" + (sp ? ", /t with sequence parallel" : "")
                + ") + one recompute unit's activations (Megatron's per-layer formula)"
                + (partition ? "; partition_activations / distribute_saved_activations: checkpoints split over t" : "")
                + (cpu ? "; DeepSpeed cpu_checkpointing: checkpoints offloaded to the host" : "")
                + "; embedding/output terms from Megatron's function";
        double host = cpu ? inflight * units * checkpoint : 0;
        if (cpu && method.equals("block")) host = inflight * units * checkpoint;
        return new Activations(bytes, formula, source, "full recompute (" + method + ", N=" + n + ")", false, host);
    }

    record Flops(double fraction, String formula) {
    }

    /**
     * Recomputed FLOPs over a step's FLOPs without recompute. Forward FLOPs per layer = 2sb·P_layer (its matmul
     * weights) + 4bs²·a·d (QKᵀ and attention × V); a step = 3 × (L × that + 2sbhV) (backward ≈ 2 × forward).
     * Selective recomputes the 4bs²ad core-attention part of every layer; full one forward of each recomputed layer.
     */
    static Flops recomputeFlops(TrainingArgs a) {
        String g = granularity(a);
        double s = a.getLong("seq_length"), b = a.getLong("micro_batch_size"), h = a.getLong("hidden_size");
        double heads = a.getLong("num_attention_heads"), d = a.getLong("kv_channels"), groups = a.getLong("num_query_groups");
        double f = a.getLong("ffn_hidden_size"), V = a.getLong("padded_vocab_size"), L = a.getLong("num_layers");
        double attnWeights = h * heads * d * 2 + h * groups * d * 2; // q, o + k, v
        double mlpWeights = h * f * (a.flag("swiglu") ? 3 : 2);
        double attnCore = 4 * b * s * s * heads * d;
        double layer = 2 * s * b * (attnWeights + mlpWeights) + attnCore;
        double step = 3 * (L * layer + 2 * s * b * h * V);
        return switch (g) {
            case "selective" -> new Flops(L * attnCore / step, "L·4bs²ad / 3(L·F_layer + 2sbhV)");
            case "full" -> {
                boolean block = a.string("recompute_method").orElse("uniform").equals("block");
                double layers = block ? Math.min(a.optLong("recompute_num_layers").orElse(1L) * a.getLong("pipeline_model_parallel_size"), L) : L;
                yield new Flops(layers * layer / step, (block ? "N·p" : "L") + "·F_layer / 3(L·F_layer + 2sbhV), F_layer = 2sb·P_layer + 4bs²ad");
            }
            default -> new Flops(0, "no recompute");
        };
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.format(Locale.ROOT, "%.3f", v);
    }
}
