package ckpt.convert.analysis;

import ckpt.convert.index.CheckpointFormat;
import ckpt.convert.index.CheckpointIndex;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.core.JsonFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The architecture a Hugging Face model dir declares in its {@code config.json}, as transformers writes it. Names
 * differ between model families and transformers releases, so each field is looked up under its known aliases
 * (GPT-2's {@code n_layer}/{@code n_embd}/{@code n_head}; {@code dtype} since transformers 4.56, {@code torch_dtype}
 * before; {@code rope_parameters.rope_theta} in transformers 5, {@code rope_theta} before) and, for multimodal
 * models, in {@code text_config}. Any field may be null.
 *
 * @param architecture {@code architectures[0]} (e.g. {@code LlamaForCausalLM}); null when the list is absent
 * @param modelType    {@code model_type} (e.g. {@code llama})
 */
public record HfConfig(String file, String architecture, String modelType, Long numLayers, Long hiddenSize,
                       Long intermediateSize, Long numAttentionHeads, Long numKeyValueHeads, Long headDim,
                       Long vocabSize, String dtype, Double ropeTheta, Boolean tieWordEmbeddings,
                       Long maxPositionEmbeddings, Long numExperts) {
    /** A config larger than this is not a model config; refusing it bounds what a hostile file can make us parse. */
    static final long MAX_BYTES = 4L << 20;

    /**
     * Made on first read, not when the class is: inspect calls {@link #of} on every checkpoint, and for the formats
     * without a config.json (DCP, Megatron) loading jackson-databind cost ~0.1 s of a human-readable inspect.
     */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).maxStringLength(1 << 20).build())
                .build()).enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    }

    /** The config.json of a Hugging Face dir (or of the dir holding a safetensors file), when there is a readable one. */
    public static Optional<HfConfig> of(CheckpointIndex index) {
        if (index.format() != CheckpointFormat.SAFETENSORS && index.format() != CheckpointFormat.TORCH_SAVE) return Optional.empty();
        Path p = index.path();
        Path dir = Files.isDirectory(p) ? p : p.toAbsolutePath().getParent();
        return dir == null ? Optional.empty() : read(dir.resolve("config.json"));
    }

    /** Empty when the file is absent, too large, or not a JSON object: inspect then simply has no config to show. */
    public static Optional<HfConfig> read(Path file) {
        try {
            if (!Files.isRegularFile(file) || Files.size(file) > MAX_BYTES) return Optional.empty();
            JsonNode root = Json.MAPPER.readTree(file.toFile());
            if (root == null || !root.isObject()) return Optional.empty();
            JsonNode text = root.path("text_config").isObject() && !root.has("num_hidden_layers") ? root.get("text_config") : root;
            JsonNode arch = root.path("architectures");
            String architecture = arch.isArray() && !arch.isEmpty() && arch.get(0).isTextual() ? arch.get(0).asText() : null;
            Double theta = number(text, "rope_theta");
            if (theta == null) theta = number(text.path("rope_parameters"), "rope_theta");
            return Optional.of(new HfConfig(file.toString(), architecture, text(root, "model_type"),
                    integer(text, "num_hidden_layers", "n_layer", "num_layers"),
                    integer(text, "hidden_size", "n_embd", "d_model"),
                    integer(text, "intermediate_size", "n_inner", "ffn_dim"),
                    integer(text, "num_attention_heads", "n_head"),
                    integer(text, "num_key_value_heads"),
                    integer(text, "head_dim"),
                    integer(text, "vocab_size"),
                    text(text, "dtype") != null ? text(text, "dtype") : text(root, "dtype") != null ? text(root, "dtype")
                            : text(text, "torch_dtype") != null ? text(text, "torch_dtype") : text(root, "torch_dtype"),
                    theta,
                    root.path("tie_word_embeddings").isBoolean() ? root.get("tie_word_embeddings").asBoolean()
                            : text.path("tie_word_embeddings").isBoolean() ? text.get("tie_word_embeddings").asBoolean() : null,
                    integer(text, "max_position_embeddings", "n_positions"),
                    integer(text, "num_local_experts", "num_experts", "n_routed_experts")));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static Long integer(JsonNode n, String... names) {
        for (String name : names) {
            JsonNode v = n.path(name);
            if (v.isIntegralNumber() && v.canConvertToLong()) return v.asLong();
        }
        return null;
    }

    private static Double number(JsonNode n, String name) {
        JsonNode v = n.path(name);
        return v.isNumber() ? v.asDouble() : null;
    }

    private static String text(JsonNode n, String name) {
        JsonNode v = n.path(name);
        return v.isTextual() ? v.asText() : null;
    }
}
