package ckpt.cli;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.memory.FitPlanner;
import ckpt.convert.memory.MemoryEstimate;
import ckpt.convert.memory.MemoryEstimator;
import ckpt.convert.memory.MemoryInputs;
import ckpt.convert.memory.MemoryJson;
import ckpt.convert.memory.MemoryLine;
import ckpt.convert.memory.RunOptionException;
import ckpt.format.FormatException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code ckpt memory PATH}: will this model train in GPU memory with the planned parallelism and recompute? */
@Command(name = "memory",
        mixinStandardHelpOptions = true,
        description = {"Estimate per-GPU training memory (first pipeline stage) from a Megatron checkpoint's saved args, "
                + "with the planned run's options overriding them: weights, gradients, optimizer state, activations and "
                + "the total, each with its formula. Weights + optimizer and activations equal Megatron's own "
                + "theoretical_memory_usage.py where it models the run (no recompute; selective recompute with sequence "
                + "parallel); full recompute, selective without sequence parallel and DeepSpeed activation checkpointing "
                + "follow Korthikanti et al. 2022 Table 2 (docs/MEMORY.md). Reads metadata only."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:estimated (with --gpu-memory: the run fits)", "1:with --gpu-memory: it does not fit "
                + "(the smallest change that fits is suggested); or the path is not a Megatron checkpoint", "2:usage error"})
final class MemoryCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PATH", description = "a Megatron save dir (its latest iteration) or iter_* dir (torch_dist or legacy)")
    Path path;

    @Option(names = "--json", description = "print JSON (schema ckpt.memory/1, docs/MEMORY.md)")
    boolean json;

    @Option(names = "--gpu-memory", paramLabel = "SIZE", description = "GPU memory, e.g. 80GB (10^9 B) or 80GiB: says whether the run fits and the smallest change that does")
    String gpuMemory;

    // ---- the planned run ----
    @Option(names = "--tp", paramLabel = "N", description = "tensor parallel size")
    Long tp;
    @Option(names = "--pp", paramLabel = "N", description = "pipeline parallel size")
    Long pp;
    @Option(names = "--vpp", paramLabel = "N", description = "virtual pipeline stages per rank (interleaved schedule)")
    Long vpp;
    @Option(names = "--cp", paramLabel = "N", description = "context parallel size")
    Long cp;
    @Option(names = "--ep", paramLabel = "N", description = "expert parallel size")
    Long ep;
    @Option(names = "--etp", paramLabel = "N", description = "expert tensor parallel size (default: follows --tp)")
    Long etp;
    @Option(names = "--dp", paramLabel = "N", description = "data parallel size (world size = TP·PP·CP·DP)")
    Long dp;
    @Option(names = "--micro-batch-size", paramLabel = "N")
    Long microBatch;
    @Option(names = "--global-batch-size", paramLabel = "N", description = "microbatches per step = global / (micro × DP)")
    Long globalBatch;
    @Option(names = "--seq-length", paramLabel = "N")
    Long seqLength;
    @Option(names = "--sequence-parallel", negatable = true, description = "sequence parallelism (--no-sequence-parallel to turn it off)")
    Boolean sequenceParallel;
    @Option(names = "--recompute-granularity", paramLabel = "none|selective|full")
    String recomputeGranularity;
    @Option(names = "--recompute-method", paramLabel = "uniform|block")
    String recomputeMethod;
    @Option(names = "--recompute-num-layers", paramLabel = "N")
    Long recomputeNumLayers;
    @Option(names = "--distributed-optimizer", negatable = true, description = "shard optimizer state over DP (--no-distributed-optimizer: not)")
    Boolean distributedOptimizer;
    @Option(names = "--distribute-saved-activations", negatable = true, description = "Megatron: split full-recompute checkpoints over TP")
    Boolean distributeSavedActivations;
    @Option(names = "--deepspeed-partition-activations", description = "DeepSpeed activation checkpointing: partition_activations (checkpoints split over TP)")
    boolean partitionActivations;
    @Option(names = "--deepspeed-cpu-checkpointing", description = "DeepSpeed activation checkpointing: cpu_checkpointing (checkpoints in host memory)")
    boolean cpuCheckpointing;

    // ---- model args a checkpoint may lack (e.g. a metadata-only copy) ----
    @Option(names = "--num-layers", paramLabel = "N")
    Long numLayers;
    @Option(names = "--hidden-size", paramLabel = "N")
    Long hiddenSize;
    @Option(names = "--ffn-hidden-size", paramLabel = "N")
    Long ffnHiddenSize;
    @Option(names = "--num-attention-heads", paramLabel = "N")
    Long heads;
    @Option(names = "--num-query-groups", paramLabel = "N", description = "GQA groups (implies group query attention)")
    Long groups;
    @Option(names = "--kv-channels", paramLabel = "N", description = "head dim (default hidden / heads)")
    Long kvChannels;
    @Option(names = "--padded-vocab-size", paramLabel = "N")
    Long paddedVocab;
    @Option(names = "--swiglu", negatable = true)
    Boolean swiglu;
    @Option(names = "--num-experts", paramLabel = "N")
    Long numExperts;
    @Option(names = "--moe-ffn-hidden-size", paramLabel = "N")
    Long moeFfn;
    @Option(names = "--moe-router-topk", paramLabel = "N")
    Long topk;

    Map<String, Object> overrides() {
        Map<String, Object> o = new LinkedHashMap<>();
        put(o, "tensor_model_parallel_size", tp);
        put(o, "pipeline_model_parallel_size", pp);
        put(o, "virtual_pipeline_model_parallel_size", vpp);
        put(o, "context_parallel_size", cp);
        put(o, "expert_model_parallel_size", ep);
        put(o, "expert_tensor_parallel_size", etp);
        put(o, "data_parallel_size", dp);
        put(o, "micro_batch_size", microBatch);
        put(o, "global_batch_size", globalBatch);
        put(o, "seq_length", seqLength);
        put(o, "sequence_parallel", sequenceParallel);
        if (recomputeGranularity != null) {
            String g = recomputeGranularity.toLowerCase(Locale.ROOT);
            if (!g.equals("none") && !g.equals("selective") && !g.equals("full"))
                throw new CommandLine.ParameterException(spec.commandLine(), "--recompute-granularity must be none, selective or full");
            o.put("recompute_granularity", g.equals("none") ? null : g);
            if (!g.equals("full")) {
                o.put("recompute_method", null);
                o.put("recompute_num_layers", null);
            }
        }
        if (recomputeMethod != null && !recomputeMethod.equals("uniform") && !recomputeMethod.equals("block"))
            throw new CommandLine.ParameterException(spec.commandLine(), "--recompute-method must be uniform or block");
        put(o, "recompute_method", recomputeMethod);
        put(o, "recompute_num_layers", recomputeNumLayers);
        put(o, "use_distributed_optimizer", distributedOptimizer);
        put(o, "distribute_saved_activations", distributeSavedActivations);
        if (partitionActivations) o.put("deepspeed_partition_activations", true);
        if (cpuCheckpointing) o.put("deepspeed_cpu_checkpointing", true);
        put(o, "num_layers", numLayers);
        put(o, "hidden_size", hiddenSize);
        put(o, "ffn_hidden_size", ffnHiddenSize);
        put(o, "num_attention_heads", heads);
        if (groups != null) {
            o.put("num_query_groups", groups);
            o.put("group_query_attention", true);
        }
        put(o, "kv_channels", kvChannels);
        put(o, "padded_vocab_size", paddedVocab);
        put(o, "swiglu", swiglu);
        put(o, "num_experts", numExperts);
        put(o, "moe_ffn_hidden_size", moeFfn);
        put(o, "moe_router_topk", topk);
        return o;
    }

    private static void put(Map<String, Object> m, String k, Object v) {
        if (v != null) m.put(k, v);
    }

    @Override
    public Integer call() {
        Map<String, Object> o = overrides();
        Double gpu;
        try {
            gpu = gpuMemory == null ? null : FitPlanner.parseSize(gpuMemory);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        try (CheckpointIndex index = Checkpoints.open(path)) {
            MemoryEstimate e;
            FitPlanner.Fit fit;
            try {
                e = MemoryEstimator.estimate(MemoryInputs.args(index, o));
                fit = gpu == null ? null : FitPlanner.plan(o, x -> MemoryEstimator.estimate(MemoryInputs.args(index, x)), gpu);
            } catch (RunOptionException bad) {
                throw new CommandLine.ParameterException(spec.commandLine(), bad.getMessage());
            } catch (IllegalArgumentException | ArithmeticException bad) {
                // not the options: the checkpoint's saved args do not describe a run
                throw new FormatException(index.path(), "its saved training args do not fit together: "
                        + (bad instanceof ArithmeticException ? "sizes overflow 64 bits" : bad.getMessage()), bad);
            }
            PrintWriter out = spec.commandLine().getOut();
            if (json) out.println(MemoryJson.write(index.path().toString(), index.iteration(), e, fit));
            else print(out, index, e, fit);
            out.flush();
            return fit == null || fit.fits() ? ExitCodes.OK : ExitCodes.PROBLEMS;
        }
    }

    static String gib(double bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (1L << 30));
    }

    private static void print(PrintWriter out, CheckpointIndex index, MemoryEstimate e, FitPlanner.Fit fit) {
        Map<String, Object> a = e.args();
        out.println("memory per GPU, first pipeline stage: " + index.path() + (index.iteration() == null ? "" : " (iteration " + index.iteration() + ")"));
        out.println(String.format(Locale.ROOT, "  model: %s layers, hidden %s, ffn %s, %s heads / %s groups of %s, padded vocab %s%s%s; %,.0f parameters",
                a.get("num_layers"), a.get("hidden_size"), a.get("ffn_hidden_size"), a.get("num_attention_heads"), a.get("num_query_groups"),
                a.get("kv_channels"), a.get("padded_vocab_size"), Boolean.TRUE.equals(a.get("swiglu")) ? ", swiglu" : "",
                a.get("num_experts") == null ? "" : ", " + a.get("num_experts") + " experts top-" + a.get("moe_router_topk"), e.totalParameters()));
        out.println("  run: TP " + a.get("tensor_model_parallel_size") + " × PP " + a.get("pipeline_model_parallel_size")
                + (a.get("virtual_pipeline_model_parallel_size") == null ? "" : " (VPP " + a.get("virtual_pipeline_model_parallel_size") + ")")
                + " × CP " + a.get("context_parallel_size") + " × DP " + a.get("data_parallel_size") + " = " + a.get("world_size") + " GPUs"
                + (a.get("num_experts") == null ? "" : ", EP " + a.get("expert_model_parallel_size"))
                + "; micro batch " + a.get("micro_batch_size") + ", global batch " + a.get("global_batch_size") + " → "
                + e.numMicrobatches() + " microbatches; seq " + a.get("seq_length")
                + (Boolean.TRUE.equals(a.get("sequence_parallel")) ? "; sequence parallel" : "")
                + "; " + e.activationModel() + "; " + (Boolean.TRUE.equals(a.get("use_distributed_optimizer")) ? "distributed optimizer" : "optimizer not sharded"));
        out.println(String.format(Locale.ROOT, "  parameters on this GPU: %,.0f", e.parametersPerGpu()));
        out.println();
        TextTable t = new TextTable("", ">bytes", ">GiB", "formula");
        for (MemoryLine l : e.lines())
            t.row(l.name(), String.format(Locale.ROOT, "%,.0f", l.bytes()), String.format(Locale.ROOT, "%.2f", l.bytes() / (1L << 30)), l.formula());
        t.row("total", String.format(Locale.ROOT, "%,.0f", e.totalBytes()), String.format(Locale.ROOT, "%.2f", e.totalBytes() / (1L << 30)),
                "weights + gradients + optimizer (Megatron: " + String.format(Locale.ROOT, "%,.0f", e.weightAndOptimizerBytes()) + ") + activations");
        t.print(out);
        out.println();
        for (MemoryLine l : e.lines())
            if (l.name().equals("activations") || l.name().equals("weights")) out.println("  " + (l.name().equals("weights") ? "weights, gradients, optimizer" : "activations") + ": " + l.source());
        out.println(String.format(Locale.ROOT, "  recompute: %.1f%% of a step's FLOPs recomputed (%s)", e.recomputeFlopsFraction() * 100, e.recomputeFlopsFormula()));
        for (String n : e.notes()) out.println("  note: " + n);
        if (fit != null) {
            out.println();
            String cap = String.format(Locale.ROOT, "%,.0f bytes (%s)", fit.gpuBytes(), gib(fit.gpuBytes()));
            if (fit.fits()) {
                out.println("fits in " + cap + ": " + gib(fit.gpuBytes() - e.totalBytes()) + " to spare");
            } else {
                out.println("does NOT fit in " + cap + ": needs " + gib(e.totalBytes()) + ", " + gib(e.totalBytes() - fit.gpuBytes()) + " over");
                for (FitPlanner.Candidate c : fit.tried())
                    out.println(String.format(Locale.ROOT, "  %-4s %s → %s (weights+optimizer %s, activations %s, recompute %.1f%% FLOPs)",
                            c.fits() ? "fits" : "no", c.change(), gib(c.estimate().totalBytes()), gib(c.estimate().weightAndOptimizerBytes()),
                            gib(c.estimate().activationBytes()), c.estimate().recomputeFlopsFraction() * 100));
                if (fit.suggestion() != null)
                    out.println("smallest change that fits: " + fit.suggestion().change() + " → " + gib(fit.suggestion().estimate().totalBytes()));
                else out.println("no single change or pair of changes tried fits");
            }
        }
    }
}
