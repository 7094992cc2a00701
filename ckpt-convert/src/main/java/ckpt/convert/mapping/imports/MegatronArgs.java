package ckpt.convert.mapping.imports;

import ckpt.format.tensor.DType;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The model's Megatron args: the {@code args} Namespace saved in the common state (what
 * {@code --use-checkpoint-args} restores) and the command-line flags that describe the same model, including those
 * Megatron's {@code load_args_from_checkpoint} does not restore (vocab size, norm epsilon, q/k layernorm, GELU
 * flavour, RoPE scaling, sliding window).
 */
public final class MegatronArgs {
    private MegatronArgs() {
    }

    /** Parallel sizes of the target layout. */
    public record Parallel(long tp, long pp, long ep) {
        public long world() {
            return tp * pp * ep;
        }
    }

    public static Map<String, Object> args(MegatronModel m, Parallel p, DType dtype) {
        MegatronModel.Attention a = m.attention();
        Map<String, Object> x = new LinkedHashMap<>();
        x.put("num_layers", m.layers());
        x.put("hidden_size", m.hidden());
        x.put("ffn_hidden_size", m.mlp().ffn());
        x.put("num_attention_heads", a.heads());
        x.put("group_query_attention", a.groups() != a.heads());
        x.put("num_query_groups", a.groups());
        x.put("kv_channels", a.headDim());
        x.put("max_position_embeddings", m.positions().max());
        x.put("seq_length", Math.min(m.positions().max(), 4096L));
        x.put("position_embedding_type", m.positions().rope() ? "rope" : "learned_absolute");
        x.put("add_position_embedding", !m.positions().rope());
        x.put("use_rotary_position_embeddings", m.positions().rope());
        x.put("rotary_base", m.positions().rope() ? (long) Math.rint(m.positions().ropeBase()) : 10000L);
        x.put("rotary_percent", 1.0);
        x.put("rotary_interleaved", false);
        x.put("use_rope_scaling", m.positions().llama3Factor() != null);
        x.put("rope_scaling_factor", m.positions().llama3Factor() != null ? m.positions().llama3Factor() : 8.0);
        x.put("rotary_seq_len_interpolation_factor", m.positions().linearFactor());
        x.put("add_bias_linear", a.linearBias() || m.mlp().bias());
        x.put("add_qkv_bias", a.qkvBias());
        x.put("swiglu", m.mlp().gated());
        x.put("squared_relu", false);
        x.put("openai_gelu", "gelu_tanh".equals(m.mlp().activation()));
        x.put("untie_embeddings_and_output_weights", !m.vocab().tied());
        x.put("apply_layernorm_1p", false);
        x.put("normalization", m.norm().kind());
        x.put("layernorm_epsilon", m.norm().epsilon()); // --norm-epsilon's dest (TransformerConfig.layernorm_epsilon)
        x.put("qk_layernorm", a.qkNorm());
        x.put("apply_query_key_layer_scaling", false);
        x.put("attention_dropout", 0.0);
        x.put("hidden_dropout", 0.0);
        // mcore attends to window_size[0] tokens back plus the current one: HF sliding_window w ↔ (w - 1, 0)
        x.put("window_size", a.window() == null ? null : ckpt.format.pickle.PyTuple.of(a.window() - 1, 0L));
        x.put("num_experts", m.isMoe() ? m.moe().experts() : null);
        if (m.isMoe()) {
            x.put("moe_ffn_hidden_size", m.moe().expertFfn());
            x.put("moe_router_topk", m.moe().topK());
            x.put("moe_router_pre_softmax", false);
            x.put("moe_router_score_function", "softmax");
            x.put("moe_router_topk_scaling_factor", null);
            x.put("moe_router_enable_expert_bias", false);
            x.put("moe_shared_expert_intermediate_size", null);
            x.put("moe_grouped_gemm", false);
            x.put("moe_layer_freq", 1L);
            x.put("moe_token_dispatcher_type", "alltoall");
        }
        x.put("vocab_size", m.vocab().size());
        x.put("padded_vocab_size", m.vocab().padded());
        x.put("make_vocab_size_divisible_by", ImportFamilies.MAKE_VOCAB_SIZE_DIVISIBLE_BY);
        if (m.initStd() != null) x.put("init_method_std", m.initStd());
        x.put("params_dtype", dtype);
        x.put("bf16", dtype == DType.BFLOAT16);
        x.put("fp16", dtype == DType.FLOAT16);
        x.put("tensor_model_parallel_size", p.tp());
        x.put("pipeline_model_parallel_size", p.pp());
        x.put("virtual_pipeline_model_parallel_size", null);
        x.put("expert_model_parallel_size", p.ep());
        x.put("expert_tensor_parallel_size", p.tp());
        x.put("context_parallel_size", 1L);
        x.put("data_parallel_size", p.ep());
        x.put("world_size", p.world());
        x.put("ckpt_format", "torch_dist");
        x.put("transformer_impl", "local");
        x.put("iteration", 0L);
        x.put("consumed_train_samples", 0L);
        x.put("consumed_valid_samples", 0L);
        x.put("no_save_optim", true);
        x.put("no_save_rng", true);
        x.put("use_distributed_optimizer", false);
        return x;
    }

    /** Megatron flags describing the written model (for {@code pretrain_gpt.py} with or without --use-checkpoint-args). */
    public static List<String> flags(MegatronModel m, Parallel p, DType dtype) {
        MegatronModel.Attention a = m.attention();
        List<String> f = new ArrayList<>();
        add(f, "--num-layers", m.layers());
        add(f, "--hidden-size", m.hidden());
        add(f, "--ffn-hidden-size", m.mlp().ffn());
        add(f, "--num-attention-heads", a.heads());
        add(f, "--kv-channels", a.headDim());
        if (a.groups() != a.heads()) {
            f.add("--group-query-attention");
            add(f, "--num-query-groups", a.groups());
        }
        add(f, "--max-position-embeddings", m.positions().max());
        add(f, "--seq-length", Math.min(m.positions().max(), 4096L));
        if (m.positions().rope()) {
            add(f, "--position-embedding-type", "rope");
            add(f, "--rotary-base", (long) Math.rint(m.positions().ropeBase()));
            if (m.positions().llama3Factor() != null) {
                f.add("--use-rope-scaling");
                add(f, "--rope-scaling-factor", m.positions().llama3Factor());
            }
            if (m.positions().linearFactor() != null) add(f, "--rotary-seq-len-interpolation-factor", m.positions().linearFactor());
        } else {
            add(f, "--position-embedding-type", "learned_absolute");
        }
        add(f, "--normalization", m.norm().kind());
        add(f, "--norm-epsilon", m.norm().epsilon());
        if (m.mlp().gated()) f.add("--swiglu");
        if ("gelu_tanh".equals(m.mlp().activation())) f.add("--openai-gelu");
        if (!(a.linearBias() || m.mlp().bias())) f.add("--disable-bias-linear");
        if (a.qkvBias() && !(a.linearBias() || m.mlp().bias())) f.add("--add-qkv-bias");
        if (a.qkNorm()) f.add("--qk-layernorm");
        if (a.window() != null) add(f, "--window-size", (a.window() - 1) + ",0");
        if (!m.vocab().tied()) f.add("--untie-embeddings-and-output-weights");
        if (m.isMoe()) {
            add(f, "--num-experts", m.moe().experts());
            add(f, "--moe-ffn-hidden-size", m.moe().expertFfn());
            add(f, "--moe-router-topk", m.moe().topK());
            add(f, "--moe-token-dispatcher-type", "alltoall");
        }
        add(f, "--vocab-size", m.vocab().size());
        add(f, "--make-vocab-size-divisible-by", ImportFamilies.MAKE_VOCAB_SIZE_DIVISIBLE_BY);
        if (m.initStd() != null) add(f, "--init-method-std", m.initStd());
        if (dtype == DType.BFLOAT16) f.add("--bf16");
        if (dtype == DType.FLOAT16) f.add("--fp16");
        add(f, "--tensor-model-parallel-size", p.tp());
        add(f, "--pipeline-model-parallel-size", p.pp());
        if (p.ep() > 1) add(f, "--expert-model-parallel-size", p.ep());
        f.add("--transformer-impl");
        f.add("local");
        add(f, "--ckpt-format", "torch_dist");
        return f;
    }

    private static void add(List<String> f, String flag, Object v) {
        f.add(flag);
        f.add(String.valueOf(v));
    }
}
