package ckpt.convert.mapping;

import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.TensorSlice;
import ckpt.format.FormatException;
import ckpt.format.tensor.DType;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One HuggingFace model family: which Megatron checkpoints it can represent, the output tensors (names, and which
 * slices of which global tensors fill them), and {@code config.json}. Subclasses add a family by overriding the
 * parts that differ (see {@link LlamaMapping}'s hooks); register it in {@link HfMappings}.
 */
public abstract class HfMapping {
    /** {@code --arch} name, e.g. {@code llama}. */
    public abstract String name();

    /** {@code architectures[0]} of config.json, e.g. {@code LlamaForCausalLM}. */
    public abstract String architecture();

    /** {@code model_type} of config.json. */
    public abstract String modelType();

    /** Why this family cannot represent the checkpoint (one short phrase each); empty when it can. */
    public abstract List<String> mismatches(MappingContext ctx);

    /** The output tensors, in the order HF checkpoints list them. */
    public abstract List<OutputTensor> tensors(MappingContext ctx);

    /** {@code config.json}. */
    public abstract Map<String, Object> config(MappingContext ctx);

    // ---- shared helpers ----

    /** Embedding / output-layer rows {@code [0, vocab)}: padding rows trimmed (MAPPING.md §2.4). */
    protected static TensorSlice vocabRows(MappingContext ctx, TensorSlice t) {
        if (t.rank() != 2) throw FormatException.atKey(ctx.index().path(), t.key(), "vocabulary tensor is not 2-d");
        if (ctx.vocabSize() > t.dim(0))
            throw FormatException.atKey(ctx.index().path(), t.key(), "has " + t.dim(0) + " rows, fewer than vocab_size " + ctx.vocabSize());
        return t.rows(0, ctx.vocabSize());
    }

    /** Whether embeddings are tied: no {@code output_layer.weight} (MAPPING.md §2.3), cross-checked with the args. */
    protected static boolean tied(MappingContext ctx) {
        boolean present = ctx.source().has("output_layer.weight");
        if (!present && !ctx.config().tiedEmbeddings())
            throw new FormatException(ctx.index().path(), "args say untie_embeddings_and_output_weights but the checkpoint has no output_layer.weight");
        return !present;
    }

    /** The output layer's HF tensor, or nothing when tied. */
    protected static Optional<OutputTensor> lmHead(MappingContext ctx, String name) {
        if (tied(ctx)) return Optional.empty();
        return Optional.of(OutputTensor.of(name, vocabRows(ctx, ctx.source().require("output_layer.weight"))));
    }

    /** Semantics no family here reproduces; each makes a converted model silently wrong (MAPPING.md §6). */
    protected static List<String> commonMismatches(MappingContext ctx) {
        List<String> out = new ArrayList<>();
        var c = ctx.config();
        if (c.multiLatentAttention()) out.add("multi-latent attention");
        if (ctx.flag("rotary_interleaved")) out.add("interleaved RoPE (rotary_interleaved)");
        if (ctx.flag("layernorm_zero_centered_gamma") || ctx.flag("apply_layernorm_1p")) out.add("zero-centered norm gamma (apply_layernorm_1p)");
        if (ctx.flag("apply_residual_connection_post_layernorm")) out.add("residual connection after the layernorm");
        if (ctx.flag("attention_output_gate")) out.add("gated attention output (attention_output_gate)");
        if (ctx.flag("qk_l2_norm")) out.add("q/k L2 normalization (qk_l2_norm)");
        ctx.arg("softmax_type").filter(v -> !"vanilla".equals(v)).ifPresent(v -> out.add("attention softmax_type " + v));
        ctx.arg("softmax_scale").ifPresent(v -> out.add("custom attention softmax_scale " + v));
        ctx.arg("experimental_attention_variant").ifPresent(v -> out.add("experimental attention variant " + v));
        ctx.longArg("mtp_num_layers").filter(n -> n > 0).ifPresent(n -> out.add("multi-token prediction layers (mtp_num_layers=" + n + ")"));
        if (ctx.flag("heterogeneous_block_specs") || ctx.arg("heterogeneous_layers_config_path").isPresent())
            out.add("heterogeneous layer specs");
        if (c.numLayers() <= 0 || c.hiddenSize() <= 0 || c.numAttentionHeads() <= 0) out.add("no model architecture in the saved args");
        for (String n : ctx.source().names()) {
            DType d = ctx.source().peek(n).orElseThrow().dtype();
            if (d != DType.BFLOAT16 && d != DType.FLOAT16 && d != DType.FLOAT32) {
                out.add("weights stored as " + d + " (" + n + ")");
                break;
            }
            if (n.contains("adapter") || n.contains(".to_wrap.")) {
                out.add("LoRA/adapter weights (" + n + ")");
                break;
            }
        }
        return out;
    }

    /** The JSON torch_dtype name. */
    protected static String torchDtype(DType d) {
        return d.torchName();
    }

    @Override
    public String toString() {
        return name() + " (" + architecture() + ")";
    }
}
