package ckpt.convert.memory;

import java.util.List;

/**
 * Megatron-LM's theoretical memory model ({@code megatron/training/theoretical_memory_usage.py} at d98e8a64),
 * restated in Java operation for operation so that the doubles come out bit-identical to Python's: the same
 * association order, integer products kept integral (exact in a double below 2^53, as Python's ints are), and
 * int/int division done as one correctly rounded double division, as Python's true division of such ints is.
 * Checked against Megatron's own function in {@code testdata/memory-reference/}.
 */
final class MegatronFormulas {
    private MegatronFormulas() {
    }

    /** Parameters per GPU of the most loaded model shard (first pipeline stage), split by how they are held. */
    record Shard(double tpSharded, double replicated, double expertSharded, long expertDataParallel,
                 double totalParameters, double bytesPerParameter, double expertBytesPerParameter,
                 double weightAndOptimizerBytes) {
        double parameters() {
            return tpSharded + replicated + expertSharded;
        }
    }

    static Shard weightAndOptimizer(TrainingArgs a) {
        long hidden = a.getLong("hidden_size"), heads = a.getLong("num_attention_heads");
        long queryProjectionSize = a.getLong("kv_channels") * heads;
        double queryProjectionToHiddenSizeRatio = (double) queryProjectionSize / (double) hidden;
        long groups = a.getLong("num_query_groups");
        boolean moe = a.optLong("num_experts").isPresent();
        long numExperts = moe ? a.getLong("num_experts") : 1;
        double gated = a.flag("swiglu") ? 1.5 : 1; // Python: 3 / 2 or the int 1 (exact either way)
        long sharedFfn = a.optLong("moe_shared_expert_intermediate_size").orElse(0L);
        long layers = a.getLong("num_layers");
        List<Long> pattern;
        long numDense, numMoe, moeFfn;
        if (moe) {
            pattern = a.moeLayerPattern();
            long sum = 0;
            for (long p : pattern) sum += p;
            numDense = layers - sum;
            numMoe = sum;
            moeFfn = a.getLong("moe_ffn_hidden_size");
        } else {
            pattern = java.util.Collections.nCopies((int) layers, 0L);
            numDense = layers;
            numMoe = 0;
            moeFfn = 0;
        }
        long mtpMoe = 0, mtpDense = 0;
        if (a.optLong("mtp_num_layers").isPresent()) {
            long mtp = a.getLong("mtp_num_layers");
            long last = pattern.getLast();
            mtpMoe = last * mtp;
            mtpDense = (1 - last) * mtp;
        }
        long normSize = "RMSNorm".equals(a.string("normalization").orElse("LayerNorm")) ? 1 : 2;

        double selfAttnTerm;
        if (a.flag("multi_latent_attention")) {
            long qkHead = a.getLong("qk_head_dim"), qkPos = a.getLong("qk_pos_emb_head_dim"), vHead = a.getLong("v_head_dim");
            long kvLora = a.getLong("kv_lora_rank");
            long qTerm = a.optLong("q_lora_rank").isEmpty()
                    ? hidden * heads * (qkHead + qkPos)
                    : a.getLong("q_lora_rank") * (hidden + heads * (qkHead + qkPos) + normSize);
            selfAttnTerm = qTerm + kvLora * (hidden + heads * (qkHead + vHead) + normSize) + hidden * qkPos + (heads * vHead) * hidden;
        } else {
            selfAttnTerm = 2 * hidden * hidden * ((1 + ((double) groups / (double) heads)) * queryProjectionToHiddenSizeRatio);
        }
        long vocab = a.getLong("padded_vocab_size");
        long embeddingSize = hidden * vocab;
        long finalLayernorm = normSize * hidden;
        long numParametersInEmbeddingLayers = a.flag("untie_embeddings_and_output_weights") ? 2 * embeddingSize : embeddingSize;

        double attentionParams = selfAttnTerm;
        double denseMlpParams = 2 * hidden * a.getLong("ffn_hidden_size") * gated;
        double sharedExpertParams = 2 * hidden * sharedFfn * gated;
        long routedHidden = a.optLong("moe_latent_size").orElse(hidden);
        double routedExpertParams = 2 * routedHidden * moeFfn * numExperts * gated;
        long latentProjectionParams = moe && a.optLong("moe_latent_size").isPresent() ? 2 * hidden * a.getLong("moe_latent_size") : 0;
        long layernormParams = 2 * hidden * normSize;
        long routerParams = moe ? (hidden * numExperts) + (a.flag("add_bias_linear") ? numExperts : 0) : 0;
        long sharedExpertGateParams = sharedFfn > 0 && a.flag("moe_shared_expert_gate") ? hidden : 0;

        double layerDense = attentionParams + denseMlpParams + layernormParams;
        double layerMoe = attentionParams + sharedExpertParams + routedExpertParams + latentProjectionParams + layernormParams
                + routerParams + sharedExpertGateParams;
        double block = layerDense * numDense + layerMoe * numMoe + finalLayernorm;
        double mtpBlock = layerDense * mtpDense + layerMoe * mtpMoe;
        double total = block + mtpBlock + numParametersInEmbeddingLayers;

        long etp = a.getLong("expert_tensor_parallel_size"), ep = a.getLong("expert_model_parallel_size");
        long pp = a.getLong("pipeline_model_parallel_size"), tp = a.getLong("tensor_model_parallel_size");
        long expertTensorModelPipeline = etp * ep * pp;
        long expertDataParallel = Math.floorDiv(a.getLong("world_size"), expertTensorModelPipeline);

        double tpShardedInBlock = (attentionParams + denseMlpParams) * numDense + (attentionParams + sharedExpertParams) * numMoe;
        double replicatedInBlock = layernormParams * numDense
                + (layernormParams + latentProjectionParams + routerParams + sharedExpertGateParams) * numMoe + finalLayernorm;
        double expertShardedInBlock = routedExpertParams * numMoe;
        double tpShardedInMtp = (attentionParams + denseMlpParams) * mtpDense + (attentionParams + sharedExpertParams) * mtpMoe;
        double replicatedInMtp = layernormParams * mtpDense
                + (layernormParams + latentProjectionParams + routerParams + sharedExpertGateParams) * mtpMoe;
        double expertShardedInMtp = routedExpertParams * mtpMoe;

        double tpShardedOnMostLoaded = ((tpShardedInBlock / pp) + tpShardedInMtp + embeddingSize) / tp;
        double replicatedOnMostLoaded = (replicatedInBlock / pp) + replicatedInMtp;
        double expertShardedOnMostLoaded = ((expertShardedInBlock / pp) + expertShardedInMtp) / (etp * ep);
        if (a.flag("untie_embeddings_and_output_weights") && pp == 1)
            tpShardedOnMostLoaded += (double) embeddingSize / (double) tp;

        double bpp = bytesPerParameter(a, a.getLong("data_parallel_size"));
        double ebpp = bytesPerParameter(a, expertDataParallel);
        double w = (tpShardedOnMostLoaded + replicatedOnMostLoaded) * bpp + expertShardedOnMostLoaded * ebpp;
        return new Shard(tpShardedOnMostLoaded, replicatedOnMostLoaded, expertShardedOnMostLoaded, expertDataParallel,
                total, bpp, ebpp, w);
    }

    /** bf16 params, fp32 main grads, fp32 main params and Adam moments: 18 B, or 6 + 12/DP with the distributed optimizer. */
    private static double bytesPerParameter(TrainingArgs a, long dataParallel) {
        return !a.flag("use_distributed_optimizer") ? 18 : 6 + (12 / (double) dataParallel);
    }

    /** {@code compute_activation_memory}: Table 2's selective recompute + sequence parallel row, first stage. */
    static double activationWithSp(TrainingArgs a, Long numMicrobatches) {
        long s = a.getLong("seq_length"), b = a.getLong("micro_batch_size"), h = a.getLong("hidden_size");
        long pp = a.getLong("pipeline_model_parallel_size");
        double m = (s * b * h) * (18 + (4 * ((double) a.getLong("ffn_hidden_size") / (double) h)));
        m *= a.getLong("num_layers");
        m += 8 * s * b * pp;
        m += s * b * h * pp;
        m = pipelineSchedule(a, m, numMicrobatches);
        if (pp == 1) m += s * b * h * 4 * (1 + ((double) a.getLong("padded_vocab_size") / (double) h));
        return m / a.getLong("tensor_model_parallel_size");
    }

    /** {@code compute_activation_memory_without_sp}: sbh(10 + 24/t) per layer, plus 5% for temporaries. */
    static double activationWithoutSp(TrainingArgs a, Long numMicrobatches) {
        long s = a.getLong("seq_length"), b = a.getLong("micro_batch_size"), h = a.getLong("hidden_size");
        long pp = a.getLong("pipeline_model_parallel_size"), tp = a.getLong("tensor_model_parallel_size");
        double perLayer = s * b * h * (10 + (24 / (double) tp));
        double m = perLayer * a.getLong("num_layers");
        m += 8 * s * b * pp;
        m += s * b * h * pp;
        m = pipelineSchedule(a, m, numMicrobatches);
        if (pp == 1) {
            double logits = s * b * a.getLong("padded_vocab_size");
            logits /= tp;
            long finalLn = s * b * h;
            m += (logits + finalLn) * 2;
        }
        m *= 1.05;
        return m;
    }

    /** The interleaved schedule's penalty, or fewer microbatches than stages in flight. */
    static double pipelineSchedule(TrainingArgs a, double m, Long numMicrobatches) {
        long pp = a.getLong("pipeline_model_parallel_size");
        var vpp = a.optLong("virtual_pipeline_model_parallel_size");
        if (vpp.isPresent()) m *= interleavedPenalty(pp, vpp.get());
        if (vpp.isEmpty() && pp > 1 && numMicrobatches != null) m *= Math.min(1, (double) numMicrobatches / (double) pp);
        return m;
    }

    static double interleavedPenalty(long pp, long vpp) {
        return 1 + ((double) (pp - 1) / (double) (pp * vpp));
    }
}
