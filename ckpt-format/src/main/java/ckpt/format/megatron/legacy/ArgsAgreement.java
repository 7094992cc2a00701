package ckpt.format.megatron.legacy;

import ckpt.format.FormatException;
import ckpt.format.megatron.MegatronArgs;
import ckpt.format.megatron.Plain;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Every rank of a legacy checkpoint carries its own copy of the args. Ranks of one save agree on everything that
 * decides tensor shapes and placement; if two disagree, the rank directories were mixed from different runs (a
 * partial copy, a re-run into the same iteration dir) and merging them would build a wrong model.
 */
public final class ArgsAgreement {
    /** Args that fix the architecture and the parallel split (rank-specific args such as {@code rank} are left out). */
    public static final List<String> ARCHITECTURE_FIELDS = List.of(
            "num_layers", "hidden_size", "ffn_hidden_size", "num_attention_heads", "group_query_attention",
            "num_query_groups", "kv_channels", "padded_vocab_size", "max_position_embeddings", "position_embedding_type",
            "normalization", "swiglu", "gated_linear_unit", "untie_embeddings_and_output_weights", "add_bias_linear",
            "add_qkv_bias", "qk_layernorm", "multi_latent_attention", "num_experts", "moe_ffn_hidden_size",
            "moe_layer_freq", "moe_grouped_gemm", "moe_shared_expert_intermediate_size", "mtp_num_layers",
            "transformer_impl", "params_dtype", "bf16", "fp16",
            "tensor_model_parallel_size", "pipeline_model_parallel_size", "expert_model_parallel_size",
            "expert_tensor_parallel_size", "virtual_pipeline_model_parallel_size", "decoder_first_pipeline_num_layers",
            "decoder_last_pipeline_num_layers", "account_for_embedding_in_pipeline_split",
            "account_for_loss_in_pipeline_split", "pipeline_model_parallel_layout", "use_distributed_optimizer");

    private ArgsAgreement() {
    }

    /**
     * Throws when {@code b}'s args differ from {@code a}'s on an architecture field; the message names both ranks,
     * the field and both values.
     */
    public static void check(Path where, String rankA, MegatronArgs a, String rankB, MegatronArgs b) {
        for (String f : ARCHITECTURE_FIELDS) {
            Object va = Plain.of(a.raw(f));
            Object vb = Plain.of(b.raw(f));
            if (!Objects.equals(va, vb) || a.has(f) != b.has(f)) {
                throw new FormatException(where, rankA + " and " + rankB + " disagree on args." + f + " ("
                        + shown(a, f, va) + " vs " + shown(b, f, vb)
                        + "): the rank directories do not come from the same save");
            }
        }
    }

    private static String shown(MegatronArgs args, String field, Object plain) {
        return args.has(field) ? String.valueOf(plain) : "absent";
    }
}
