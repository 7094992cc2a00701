package ckpt.convert.analysis;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code inspect --json} of every DCP / Megatron fixture against PyTorch's and Megatron's own records: tensor keys,
 * dtypes and global shapes from reference tensors.json, the model config from the args Megatron saved
 * (reference model.json), and the JSON shape the schema promises.
 */
class InspectReportTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode inspectJson(String checkpoint) throws Exception {
        try (CheckpointIndex index = Checkpoints.open(Fixtures.path(checkpoint))) {
            return JSON.readTree(InspectJson.write(InspectReport.of(index)));
        }
    }

    @ParameterizedTest
    @CsvSource({
            "megatron-llama-tp2/checkpoint, megatron-llama-tp2/reference/iter_0000004/tensors.json",
            "megatron-llama-tp2/checkpoint/iter_0000002, megatron-llama-tp2/reference/iter_0000002/tensors.json",
            "megatron-llama-tp2-core014/checkpoint, megatron-llama-tp2-core014/reference/iter_0000004/tensors.json",
            "megatron-qwen3-tp2/checkpoint, megatron-qwen3-tp2/reference/iter_0000004/tensors.json",
            "dcp-fsdp2/checkpoint, dcp-fsdp2/reference/tensors.json",
            "dcp-variety/checkpoint, dcp-variety/reference/tensors.json",
            "dcp-variety-safetensors/checkpoint, dcp-variety-safetensors/reference/tensors.json",
    })
    void tensorsAgreeWithPyTorch(String checkpoint, String reference) throws Exception {
        JsonNode ref = Fixtures.json(Fixtures.path(reference));
        JsonNode r = inspectJson(checkpoint);
        assertThat(r.get("schema").asText()).isEqualTo("ckpt.inspect/1");
        TreeMap<String, JsonNode> byKey = new TreeMap<>();
        for (JsonNode t : r.get("tensors")) byKey.put(t.get("key").asText(), t);
        List<String> refKeys = new ArrayList<>();
        ref.fieldNames().forEachRemaining(refKeys::add);
        assertThat(byKey.keySet()).isEqualTo(new TreeSet<>(refKeys));
        for (String key : refKeys) {
            JsonNode t = byKey.get(key), x = ref.get(key);
            assertThat(t.get("dtype").asText()).as(key).isEqualTo(x.get("dtype").asText());
            assertThat(t.get("shape")).as(key).isEqualTo(x.get("shape"));
            assertThat(t.get("bytes").asLong()).as(key).isEqualTo(x.get("nbytes").asLong());
            assertThat(t.get("chunks").asInt()).as(key).isPositive();
            assertThat(t.get("category").asText()).as(key).isNotEmpty();
        }
        for (String field : List.of("format", "iteration", "config", "parallelism", "objects", "files", "size"))
            assertThat(r.has(field)).as(field).isTrue();
        JsonNode size = r.get("size");
        long sum = 0;
        for (JsonNode v : size.get("by_category")) sum += v.asLong();
        assertThat(sum).isEqualTo(size.get("total_bytes").asLong());
        assertThat(size.get("explanation").isArray()).isTrue();
        for (JsonNode f : r.get("files")) {
            assertThat(f.get("present").asBoolean()).isTrue();
            assertThat(f.get("bytes").asLong()).isEqualTo(
                    java.nio.file.Path.of(r.get("path").asText()).resolve(f.get("name").asText()).toFile().length());
        }
    }

    @ParameterizedTest
    @CsvSource({
            "megatron-llama-tp2/checkpoint, megatron-llama-tp2/reference/iter_0000004/model.json",
            "megatron-llama-tp2-core014/checkpoint, megatron-llama-tp2-core014/reference/iter_0000004/model.json",
            "megatron-qwen3-tp2/checkpoint, megatron-qwen3-tp2/reference/iter_0000004/model.json",
    })
    void configAgreesWithMegatronsArgs(String checkpoint, String modelJson) throws Exception {
        JsonNode a = Fixtures.json(Fixtures.path(modelJson)).get("args");
        JsonNode r = inspectJson(checkpoint);
        JsonNode c = r.get("config");
        assertThat(r.get("format").asText()).isEqualTo("megatron_torch_dist");
        assertThat(r.get("iteration").asLong()).isEqualTo(4);   // iter_0000004, the iteration model.json was taken at
        assertThat(c.get("source").asText()).isEqualTo("args");
        assertThat(c.get("num_layers").asLong()).isEqualTo(a.get("num_layers").asLong());
        assertThat(c.get("hidden_size").asLong()).isEqualTo(a.get("hidden_size").asLong());
        assertThat(c.get("ffn_hidden_size").asLong()).isEqualTo(a.get("ffn_hidden_size").asLong());
        assertThat(c.get("num_attention_heads").asLong()).isEqualTo(a.get("num_attention_heads").asLong());
        assertThat(c.get("num_query_groups").asLong()).isEqualTo(a.get("group_query_attention").asBoolean()
                ? a.get("num_query_groups").asLong() : a.get("num_attention_heads").asLong());
        assertThat(c.get("kv_channels").asLong()).isEqualTo(a.get("kv_channels").asLong());
        assertThat(c.get("vocab_size").asLong()).isEqualTo(a.get("vocab_size").asLong());
        assertThat(c.get("padded_vocab_size").asLong()).isEqualTo(a.get("padded_vocab_size").asLong());
        assertThat(c.get("normalization").asText()).isEqualTo(a.get("normalization").asText());
        JsonNode eps = a.hasNonNull("norm_epsilon") ? a.get("norm_epsilon") : a.get("layernorm_epsilon");
        assertThat(c.get("norm_epsilon").asDouble()).isEqualTo(eps.asDouble());
        assertThat(c.get("rotary_base").asDouble()).isEqualTo(a.get("rotary_base").asDouble());
        assertThat(c.get("position_embedding_type").asText()).isEqualTo(a.get("position_embedding_type").asText());
        assertThat(c.get("tied_embeddings").asBoolean()).isEqualTo(!a.get("untie_embeddings_and_output_weights").asBoolean());
        JsonNode p = r.get("parallelism");
        assertThat(p.get("tensor_parallel").asLong()).isEqualTo(a.get("tensor_model_parallel_size").asLong());
        assertThat(p.get("pipeline_parallel").asLong()).isEqualTo(a.get("pipeline_model_parallel_size").asLong());
        assertThat(p.get("world_size").asLong()).isEqualTo(a.get("world_size").asLong());
        assertThat(p.get("distributed_optimizer").asBoolean()).isEqualTo(a.get("use_distributed_optimizer").asBoolean());
    }

    /** Without args, shapes still give what they can; checked against the same Megatron args. */
    @ParameterizedTest
    @CsvSource({
            "megatron-llama-tp2/checkpoint, megatron-llama-tp2/reference/iter_0000004/model.json",
            "megatron-llama-tp2-core014/checkpoint, megatron-llama-tp2-core014/reference/iter_0000004/model.json",
            "megatron-qwen3-tp2/checkpoint, megatron-qwen3-tp2/reference/iter_0000004/model.json",
    })
    void shapeInferenceAgreesWithMegatronsArgs(String checkpoint, String modelJson) {
        JsonNode a = Fixtures.json(Fixtures.path(modelJson)).get("args");
        try (CheckpointIndex index = Checkpoints.open(Fixtures.path(checkpoint))) {
            ModelSummary m = ShapeInference.infer(index).orElseThrow();
            assertThat(m.source()).isEqualTo(ModelSummary.SOURCE_SHAPES);
            assertThat(m.numLayers()).isEqualTo(a.get("num_layers").asLong());
            assertThat(m.hiddenSize()).isEqualTo(a.get("hidden_size").asLong());
            assertThat(m.ffnHiddenSize()).isEqualTo(a.get("ffn_hidden_size").asLong());
            assertThat(m.paddedVocabSize()).isEqualTo(a.get("padded_vocab_size").asLong());
            assertThat(m.gatedLinearUnit()).isEqualTo(a.get("swiglu").asBoolean());
            assertThat(m.tiedEmbeddings()).isEqualTo(!a.get("untie_embeddings_and_output_weights").asBoolean());
            assertThat(m.normalization()).isEqualTo(a.get("normalization").asText());
            assertThat(m.qkLayernorm()).isEqualTo(a.get("qk_layernorm").asBoolean());
            if (a.get("qk_layernorm").asBoolean()) {   // the per-head norm reveals the head dim, hence the head counts
                assertThat(m.kvChannels()).isEqualTo(a.get("kv_channels").asLong());
                assertThat(m.numAttentionHeads()).isEqualTo(a.get("num_attention_heads").asLong());
                assertThat(m.numQueryGroups()).isEqualTo(a.get("num_query_groups").asLong());
            } else {
                assertThat(m.numAttentionHeads()).isNull();
            }
        }
    }

    /** The README of the 8B fixture: 32 layers, hidden 4096, FFN 14336, SwiGLU, RMSNorm, untied, vocab 128256. */
    @Test
    void eightBillionFromMetadataAlone() throws Exception {
        JsonNode r = inspectJson("megatron-llama3-8b-meta/checkpoint");
        assertThat(r.get("iteration").asLong()).isEqualTo(1);
        assertThat(r.get("data_present").asBoolean()).isFalse();
        JsonNode c = r.get("config");
        assertThat(c.get("source").asText()).isEqualTo("inferred from shapes");
        assertThat(c.get("num_layers").asLong()).isEqualTo(32);
        assertThat(c.get("hidden_size").asLong()).isEqualTo(4096);
        assertThat(c.get("ffn_hidden_size").asLong()).isEqualTo(14336);
        assertThat(c.get("padded_vocab_size").asLong()).isEqualTo(128256);
        assertThat(c.get("gated_linear_unit").asBoolean()).isTrue();
        assertThat(c.get("tied_embeddings").asBoolean()).isFalse();
        assertThat(c.get("normalization").asText()).isEqualTo("RMSNorm");
        assertThat(c.get("vocab_size").isNull()).isTrue();
        assertThat(r.get("parallelism").get("world_size").asLong()).isEqualTo(2);
        assertThat(r.get("parallelism").get("optimizer_format").asText()).isEqualTo("dp_reshardable");
        // Files: the two data files absent, with the sizes the real checkpoint had (listing/du-b.txt).
        JsonNode files = r.get("files");
        assertThat(files).hasSize(4);
        for (JsonNode f : files) {
            String n = f.get("name").asText();
            assertThat(f.get("present").asBoolean()).as(n).isEqualTo(!n.endsWith(".distcp"));
        }
        assertThat(duBytes("__0_0.distcp")).isEqualTo(fileBytes(files, "__0_0.distcp"));
        assertThat(duBytes("__1_0.distcp")).isEqualTo(fileBytes(files, "__1_0.distcp"));
        assertThat(r.get("tensors")).hasSize(12);
        assertThat(r.get("objects")).hasSize(135);
        assertThat(r.get("size").get("total_bytes").asLong()).isEqualTo(duBytes(""));
    }

    private static long fileBytes(JsonNode files, String name) {
        for (JsonNode f : files) if (f.get("name").asText().equals(name)) return f.get("bytes").asLong();
        throw new AssertionError(name);
    }

    /** {@code du -b} as recorded on the machine that wrote the checkpoint. */
    private static long duBytes(String name) throws Exception {
        for (String line : java.nio.file.Files.readAllLines(Fixtures.path("megatron-llama3-8b-meta/listing/du-b.txt"))) {
            String[] p = line.split("\t");
            if (p[1].equals(name.isEmpty() ? "iter_0000001" : "iter_0000001/" + name)) return Long.parseLong(p[0]);
        }
        throw new AssertionError(name);
    }

    @Test
    void filterSelectsTensorsAndObjectsButSizeStaysWhole() {
        try (CheckpointIndex index = Checkpoints.open(Fixtures.path("megatron-llama-tp2/checkpoint"))) {
            InspectReport all = InspectReport.of(index);
            InspectReport some = InspectReport.of(index, k -> k.startsWith("decoder."));
            assertThat(some.tensors()).isNotEmpty().allMatch(t -> t.key().startsWith("decoder."));
            assertThat(some.tensors().size()).isLessThan(all.tensors().size());
            assertThat(some.objects()).allMatch(o -> o.key().startsWith("decoder."));
            assertThat(some.size().totalBytes()).isEqualTo(all.size().totalBytes());
        }
    }
}
