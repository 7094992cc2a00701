package ckpt.format.megatron;

import ckpt.format.tensor.DType;

/**
 * The architecture a Megatron checkpoint was trained with, read from its saved args. Derived values follow
 * Megatron's own defaults: query groups count only with {@code group_query_attention}; {@code kv_channels}
 * defaults to hidden / heads; {@code ffn_hidden_size} to 4·hidden.
 *
 * @param vocabSize          tokenizer vocab (null when the args do not say; padded rows are then kept)
 * @param paddedVocabSize    rows of the embedding as saved
 * @param activation         {@code swiglu}, {@code geglu}, {@code gelu}, {@code openai_gelu}, {@code squared_relu}…
 * @param tiedEmbeddings     embedding and output layer share weights
 */
public record ModelConfig(
        long numLayers, long hiddenSize, long ffnHiddenSize, long numAttentionHeads, long numQueryGroups,
        long kvChannels, Long vocabSize, Long paddedVocabSize, Long maxPositionEmbeddings, Long seqLength,
        String normalization, double normEpsilon, String positionEmbeddingType, Double rotaryBase,
        Double rotaryPercent, boolean ropeScaling, Double ropeScalingFactor, String activation, boolean gatedLinearUnit,
        boolean tiedEmbeddings, boolean addBiasLinear, boolean addQkvBias, boolean qkLayernorm,
        Long numExperts, Long moeRouterTopk, Long moeFfnHiddenSize, Double moeAuxLossCoeff,
        Long moeSharedExpertIntermediateSize, Object moeLayerFreq, boolean multiLatentAttention,
        boolean biasGeluFusion, DType paramsDtype, Long makeVocabSizeDivisibleBy, String tokenizerType,
        String tokenizerModel) {

    public static ModelConfig from(MegatronArgs a) {
        long hidden = a.getLong("hidden_size", 0);
        long heads = a.getLong("num_attention_heads", 0);
        boolean gqa = a.getBool("group_query_attention", false);
        long groups = gqa ? a.getLong("num_query_groups").orElse(heads) : heads;
        long kv = a.getLong("kv_channels").orElse(heads > 0 ? hidden / heads : 0);
        boolean swiglu = a.getBool("swiglu", false);
        String activation = swiglu ? "swiglu"
                : a.getBool("quick_geglu", false) ? "quick_geglu"
                : a.getBool("squared_relu", false) ? "squared_relu"
                : a.getBool("openai_gelu", false) ? "openai_gelu"
                : "gelu";
        boolean glu = swiglu || a.getBool("quick_geglu", false) || a.getBool("gated_linear_unit", false);
        double eps = a.getDouble("norm_epsilon").or(() -> a.getDouble("layernorm_epsilon")).orElse(1e-5);
        DType params = a.getDType("params_dtype").orElse(a.getBool("bf16", false) ? DType.BFLOAT16
                : a.getBool("fp16", false) ? DType.FLOAT16 : DType.FLOAT32);
        boolean addBias = a.getBool("add_bias_linear", true);
        return new ModelConfig(
                a.getLong("num_layers", 0), hidden, a.getLong("ffn_hidden_size").orElse(4 * hidden), heads, groups, kv,
                a.getLong("vocab_size").orElse(null), a.getLong("padded_vocab_size").orElse(null),
                a.getLong("max_position_embeddings").orElse(null), a.getLong("seq_length").orElse(null),
                a.getString("normalization").orElse("LayerNorm"), eps,
                a.getString("position_embedding_type").orElse("learned_absolute"),
                a.getDouble("rotary_base").orElse(null), a.getDouble("rotary_percent").orElse(null),
                a.getBool("use_rope_scaling", false), a.getDouble("rope_scaling_factor").orElse(null),
                activation, glu,
                !a.getBool("untie_embeddings_and_output_weights", false), addBias,
                a.getBool("add_qkv_bias", false) || addBias, a.getBool("qk_layernorm", false),
                a.getLong("num_experts").orElse(null), a.getLong("moe_router_topk").orElse(null),
                a.getLong("moe_ffn_hidden_size").orElse(null), a.getDouble("moe_aux_loss_coeff").orElse(null),
                a.getLong("moe_shared_expert_intermediate_size").orElse(null), Plain.of(a.raw("moe_layer_freq")),
                a.getBool("multi_latent_attention", false), a.getBool("bias_gelu_fusion", false), params,
                a.getLong("make_vocab_size_divisible_by").orElse(null), a.getString("tokenizer_type").orElse(null),
                a.getString("tokenizer_model").orElse(null));
    }

    public boolean isMoe() {
        return numExperts != null && numExperts > 0;
    }
}
