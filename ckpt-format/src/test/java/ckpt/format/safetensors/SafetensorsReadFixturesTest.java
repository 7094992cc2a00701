package ckpt.format.safetensors;

import ckpt.format.testing.Fixtures;
import ckpt.format.tensor.DType;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/** Files written by the Python safetensors library (via torch/DCP/scripts), checked against the fixtures' oracles. */
class SafetensorsReadFixturesTest {
    private static final String HF_DIR = "dcp-variety-hf/checkpoint";
    private static final String HF_FILE = HF_DIR + "/model-00001-of-00001.safetensors";

    /** Each reference tensor (name → dtype, shape, sha256 of its bytes) must be in the file, and nothing else. */
    private static void assertMatches(SafetensorsFile f, JsonNode tensors) {
        assertThat(f.header().entries()).extracting(SafetensorsEntry::name)
                .containsExactlyInAnyOrderElementsOf(Fixtures.fieldNames(tensors));
        for (SafetensorsEntry e : f.header().entries()) {
            JsonNode ref = tensors.get(e.name());
            assertThat(e.dtype().torchName()).as(e.name()).isEqualTo(ref.get("dtype").asText());
            assertThat(e.shape()).as(e.name()).isEqualTo(Fixtures.longs(ref.get("shape")));
            assertThat(e.byteLength()).as(e.name()).isEqualTo(ref.get("nbytes").asLong());
            assertThat(e.numel()).as(e.name()).isEqualTo(ref.get("numel").asLong());
            assertThat(Fixtures.sha256(f.data(e))).as(e.name()).isEqualTo(ref.get("sha256").asText());
        }
    }

    @Test
    void dcpHuggingFaceWriterFile() {
        JsonNode files = Fixtures.json("dcp-variety-hf/reference/safetensors_files.json");
        JsonNode ref = files.get("model-00001-of-00001.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.path(HF_FILE))) {
            assertThat(f.header().entries()).extracting(SafetensorsEntry::name)
                    .containsExactlyInAnyOrderElementsOf(textList(ref.get("keys")));
            Map<String, String> meta = new LinkedHashMap<>();
            ref.get("metadata").properties().forEach(e -> meta.put(e.getKey(), e.getValue().asText()));
            assertThat(f.header().metadata()).isEqualTo(meta);
            assertMatches(f, Fixtures.json("dcp-variety-hf/reference/tensors.json"));

            // Layout facts: entries tile the buffer in order and the blob is the whole file.
            long expect = 0;
            for (SafetensorsEntry e : f.header().entries()) {
                assertThat(e.begin()).isEqualTo(expect);
                expect = e.end();
            }
            assertThat(f.header().blobLength()).isEqualTo(Files.size(Fixtures.path(HF_FILE)));
            assertThat(f.header().dataStart()).isEqualTo(8 + f.header().headerLength());
            assertThat(f.header().headerLength() % 8).isZero();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static List<String> textList(JsonNode array) {
        return java.util.stream.StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
    }

    @ParameterizedTest
    @ValueSource(strings = {"zip_dtypes.pt", "zip_nested.pt", "zip_single_tensor.pt", "zip_module_state.pt",
            "legacy_nonzip.pt"})
    void torchSaveReferenceExports(String name) {
        JsonNode ref = Fixtures.json("torch-save/reference/" + name + ".json").get("tensors");
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.path("torch-save/reference/" + name + ".safetensors"))) {
            assertThat(f.header().metadata()).isEmpty();
            assertMatches(f, ref);
        }
    }

    /**
     * The DeepSpeed fixtures' logits, written by the Python safetensors library: names, dtypes and shapes as the
     * fixture READMEs describe them, the vocabulary from the reference HF config, and input_ids inside it.
     * (Megatron's larger logits files are GPU-box references outside the tracked tree: scripts/README.md.)
     */
    @ParameterizedTest
    @CsvSource({"deepspeed-zero1-gpt2-fp16, GPT2LMHeadModel", "deepspeed-zero3-llama-dp2, LlamaForCausalLM"})
    void deepspeedLogits(String fixture, String model) {
        long vocab = Fixtures.json(fixture + "/reference/config.json").get("vocab_size").asLong();
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.path(fixture + "/reference/logits.safetensors"))) {
            SafetensorsHeader h = f.header();
            assertThat(h.entries()).extracting(SafetensorsEntry::name)
                    .containsExactlyInAnyOrder("input_ids", "logits_fp32");
            SafetensorsEntry ids = h.entry("input_ids").orElseThrow();
            assertThat(ids.dtype()).isEqualTo(DType.INT64);
            assertThat(ids.shape()).containsExactly(2, 32);
            SafetensorsEntry logits = h.entry("logits_fp32").orElseThrow();
            assertThat(logits.dtype()).isEqualTo(DType.FLOAT32);
            assertThat(logits.shape()).containsExactly(2, 32, vocab);
            assertThat(h.metadata()).containsEntry("model", model)
                    .containsEntry("forward", "float32, cpu, eager attention, eval()");
            // Token ids index the embedding: every value must be inside the vocabulary.
            var data = f.data("input_ids");
            for (long i = 0; i < 64; i++) {
                assertThat(data.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, i * 8)).isBetween(0L, vocab - 1);
            }
        }
    }

    @Test
    void shardedDirectoryWithIndex() {
        JsonNode index = Fixtures.json(HF_DIR + "/model.safetensors.index.json");
        JsonNode inFile = Fixtures.json("dcp-variety-hf/reference/safetensors_files.json")
                .get("model-00001-of-00001.safetensors").get("keys");
        TreeSet<String> expectedMissing = new TreeSet<>(Fixtures.fieldNames(index.get("weight_map")));
        textList(inFile).forEach(expectedMissing::remove);

        try (ShardedSafetensors dir = ShardedSafetensors.open(Fixtures.path(HF_DIR))) {
            assertThat(dir.weightMap().keySet()).containsExactlyElementsOf(Fixtures.fieldNames(index.get("weight_map")));
            assertThat(dir.weightMap().values()).allMatch(p -> p.getFileName().toString()
                    .equals("model-00001-of-00001.safetensors"));
            assertThat(dir.indexMetadata()).containsEntry("total_size", index.get("metadata").get("total_size").asLong());
            assertThat(dir.shards()).hasSize(1);
            // Both ranks wrote model-00001-of-00001.safetensors; the index lists rank 1's tensors too, the file lacks them.
            assertThat(dir.missing()).containsExactlyInAnyOrderElementsOf(expectedMissing);
            assertThat(expectedMissing).isNotEmpty();
            String absent = expectedMissing.first();
            assertThat(dir.find(absent)).isEmpty();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> dir.tensor(absent))
                    .isInstanceOf(SafetensorsException.class).hasMessageContaining(absent)
                    .hasMessageContaining("absent");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> dir.tensor("no.such"))
                    .isInstanceOf(SafetensorsException.class).hasMessageContaining("not in the weight map");
            JsonNode ref = Fixtures.json("dcp-variety-hf/reference/tensors.json").get("f32");
            assertThat(Fixtures.sha256(dir.tensor("f32").data())).isEqualTo(ref.get("sha256").asText());
        }
    }

    @Test
    void singleModelSafetensors(@TempDir Path tmp) throws IOException {
        Files.copy(Fixtures.path("torch-save/reference/zip_dtypes.pt.safetensors"), tmp.resolve("model.safetensors"));
        JsonNode ref = Fixtures.json("torch-save/reference/zip_dtypes.pt.json").get("tensors");
        try (ShardedSafetensors dir = ShardedSafetensors.open(tmp)) {
            assertThat(dir.indexFile()).isEmpty();
            assertThat(dir.missing()).isEmpty();
            assertThat(dir.weightMap().keySet()).containsExactlyInAnyOrderElementsOf(Fixtures.fieldNames(ref));
            assertThat(Fixtures.sha256(dir.tensor("bf16").data())).isEqualTo(ref.get("bf16").get("sha256").asText());
        }
    }
}
