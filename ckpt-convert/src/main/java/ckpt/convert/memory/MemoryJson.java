package ckpt.convert.memory;

import ckpt.convert.analysis.InspectJson;
import com.fasterxml.jackson.core.JsonProcessingException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code ckpt memory --json}: schema {@code ckpt.memory/1} (docs/MEMORY.md). Bytes as doubles, as Megatron computes them. */
public final class MemoryJson {
    public static final String SCHEMA = "ckpt.memory/1";

    /** The args shown: what the estimate depends on. */
    static final List<String> SHOWN = List.of("num_layers", "hidden_size", "ffn_hidden_size", "num_attention_heads",
            "num_query_groups", "kv_channels", "padded_vocab_size", "swiglu", "normalization",
            "untie_embeddings_and_output_weights", "num_experts", "moe_ffn_hidden_size", "moe_router_topk",
            "tensor_model_parallel_size", "pipeline_model_parallel_size", "virtual_pipeline_model_parallel_size",
            "context_parallel_size", "expert_model_parallel_size", "expert_tensor_parallel_size", "data_parallel_size",
            "world_size", "micro_batch_size", "global_batch_size", "seq_length", "sequence_parallel",
            "recompute_granularity", "recompute_method", "recompute_num_layers", "distribute_saved_activations",
            "deepspeed_partition_activations", "deepspeed_cpu_checkpointing", "use_distributed_optimizer");

    private MemoryJson() {
    }

    public static Map<String, Object> map(String checkpoint, Long iteration, MemoryEstimate e, FitPlanner.Fit fit) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schema", SCHEMA);
        m.put("checkpoint", checkpoint);
        m.put("iteration", iteration);
        m.putAll(estimate(e));
        if (fit != null) {
            Map<String, Object> g = new LinkedHashMap<>();
            g.put("bytes", fit.gpuBytes());
            g.put("fits", fit.fits());
            g.put("suggestion", fit.suggestion() == null ? null : candidate(fit.suggestion()));
            List<Object> tried = new ArrayList<>();
            for (FitPlanner.Candidate c : fit.tried()) tried.add(candidate(c));
            g.put("tried", tried);
            m.put("gpu_memory", g);
        }
        return m;
    }

    public static String write(String checkpoint, Long iteration, MemoryEstimate e, FitPlanner.Fit fit) {
        try {
            return InspectJson.MAPPER.writeValueAsString(map(checkpoint, iteration, e, fit));
        } catch (JsonProcessingException ex) {
            throw new IllegalStateException("memory report not serialisable: " + ex.getOriginalMessage(), ex);
        }
    }

    static Map<String, Object> estimate(MemoryEstimate e) {
        Map<String, Object> m = new LinkedHashMap<>();
        Map<String, Object> args = new LinkedHashMap<>();
        for (String k : SHOWN) args.put(k, e.args().get(k));
        m.put("args", args);
        m.put("num_microbatches", e.numMicrobatches());
        m.put("parameters_per_gpu", e.parametersPerGpu());
        m.put("total_parameters", e.totalParameters());
        List<Object> lines = new ArrayList<>();
        for (MemoryLine l : e.lines()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("name", l.name());
            x.put("bytes", l.bytes());
            x.put("formula", l.formula());
            x.put("source", l.source());
            lines.add(x);
        }
        m.put("per_gpu", lines);
        m.put("weight_and_optimizer_bytes", e.weightAndOptimizerBytes());
        m.put("activation_bytes", e.activationBytes());
        m.put("total_bytes", e.totalBytes());
        m.put("activation_model", e.activationModel());
        m.put("activation_bytes_is_megatrons", e.megatronModelsActivations());
        m.put("recompute_flops_fraction", e.recomputeFlopsFraction());
        m.put("recompute_flops_formula", e.recomputeFlopsFormula());
        m.put("host_bytes", e.hostBytes());
        m.put("notes", e.notes());
        return m;
    }

    private static Map<String, Object> candidate(FitPlanner.Candidate c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("change", c.change());
        m.put("fits", c.fits());
        m.put("weight_and_optimizer_bytes", c.estimate().weightAndOptimizerBytes());
        m.put("activation_bytes", c.estimate().activationBytes());
        m.put("total_bytes", c.estimate().totalBytes());
        m.put("recompute_flops_fraction", c.estimate().recomputeFlopsFraction());
        m.put("world_size", c.estimate().args().get("world_size"));
        return m;
    }
}
