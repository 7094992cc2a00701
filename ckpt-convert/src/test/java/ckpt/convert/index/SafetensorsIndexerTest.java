package ckpt.convert.index;

import ckpt.format.FormatException;
import ckpt.format.megatron.KeyCategory;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** safetensors files and directories through {@link Checkpoints#open}, against references written by PyTorch. */
class SafetensorsIndexerTest {
    @TempDir
    Path tmp;

    /**
     * DCP's HuggingFaceStorageWriter with 2 ranks: the index names 21 tensors, the one shard holds 17. The 17 have
     * PyTorch's dtype/shape/sha256; the other 4 are reported as missing, not a crash.
     */
    @Test
    void dcpVarietyHf() {
        Path dir = Fixtures.path("dcp-variety-hf", "checkpoint");
        JsonNode ref = Fixtures.json(Fixtures.path("dcp-variety-hf", "reference", "tensors.json"));
        JsonNode weightMap = Fixtures.json(dir.resolve("model.safetensors.index.json")).get("weight_map");
        List<String> missing = new ArrayList<>();
        weightMap.fieldNames().forEachRemaining(n -> {
            if (!ref.has(n)) missing.add(n);
        });
        assertThat(weightMap.size()).isEqualTo(21);
        assertThat(missing).hasSize(4);
        try (CheckpointIndex index = Checkpoints.open(dir); Arena arena = Arena.ofConfined()) {
            assertThat(index.format()).isEqualTo(CheckpointFormat.SAFETENSORS);
            assertThat(index.details().get("missing_tensors")).isEqualTo(missing);
            assertThat(index.details()).containsEntry("index_metadata", Map.of("total_size", 671L));
            List<String> refKeys = new ArrayList<>();
            ref.fieldNames().forEachRemaining(refKeys::add);
            assertThat(new TreeSet<>(index.tensorsByKey().keySet())).isEqualTo(new TreeSet<>(refKeys));
            checkSha256(index, ref, arena);
            assertThat(index.files()).extracting(FileEntry::name, FileEntry::referenced).containsExactly(
                    org.assertj.core.groups.Tuple.tuple("model-00001-of-00001.safetensors", true),
                    org.assertj.core.groups.Tuple.tuple("model.safetensors.index.json", true));
            assertThat(index.tensors()).extracting(GlobalTensor::category).containsOnly(KeyCategory.MODEL_WEIGHT);
        }
    }

    /** The torch-save references are safetensors files PyTorch wrote; their sha256 are in the JSON next to them. */
    @ParameterizedTest
    @ValueSource(strings = {"legacy_nonzip.pt", "zip_dtypes.pt", "zip_module_state.pt", "zip_nested.pt", "zip_single_tensor.pt"})
    void singleFiles(String name) {
        Path file = Fixtures.path("torch-save", "reference", name + ".safetensors");
        JsonNode ref = Fixtures.json(Fixtures.path("torch-save", "reference", name + ".json")).get("tensors");
        try (CheckpointIndex index = Checkpoints.open(file); Arena arena = Arena.ofConfined()) {
            assertThat(index.tensors()).hasSize(ref.size());
            checkSha256(index, ref, arena);
            for (GlobalTensor t : index.tensors()) {
                PieceSource s = t.pieces().getFirst().source();
                assertThat(s.length()).isEqualTo(t.byteSize());
                assertThat(s.offset() + s.length()).isLessThanOrEqualTo(Files.size(file));
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void unindexedDirectoryWithConfig() throws IOException {
        Path ref = Fixtures.path("torch-save", "reference");
        Files.copy(ref.resolve("zip_nested.pt.safetensors"), tmp.resolve("a.safetensors"));
        Files.copy(ref.resolve("zip_single_tensor.pt.safetensors"), tmp.resolve("b.safetensors"));
        Files.writeString(tmp.resolve("config.json"), "{\"model_type\": \"llama\", \"num_hidden_layers\": 2}");
        JsonNode nested = Fixtures.json(ref.resolve("zip_nested.pt.json")).get("tensors");
        try (CheckpointIndex index = Checkpoints.open(tmp)) {
            List<String> expected = new ArrayList<>();
            nested.fieldNames().forEachRemaining(expected::add);
            expected.add("<root>");
            assertThat(index.tensorsByKey().keySet()).containsExactlyInAnyOrderElementsOf(expected);
            @SuppressWarnings("unchecked")
            Map<String, Object> config = (Map<String, Object>) index.details().get("config");
            assertThat(config).containsEntry("model_type", "llama").containsEntry("num_hidden_layers", 2);
            assertThat(index.files()).extracting(FileEntry::name, FileEntry::referenced).containsExactly(
                    org.assertj.core.groups.Tuple.tuple("a.safetensors", true),
                    org.assertj.core.groups.Tuple.tuple("b.safetensors", true),
                    org.assertj.core.groups.Tuple.tuple("config.json", false));
        }
    }

    @Test
    void brokenConfigIsReportedNotFatal() throws IOException {
        Files.copy(Fixtures.path("torch-save", "reference", "zip_nested.pt.safetensors"), tmp.resolve("model.safetensors"));
        Files.writeString(tmp.resolve("config.json"), "{\"model_type\": ");
        try (CheckpointIndex index = Checkpoints.open(tmp)) {
            assertThat(index.tensors()).hasSize(4);
            assertThat((String) index.details().get("config_error")).contains("config.json");
        }
    }

    @Test
    void sameTensorInTwoUnindexedFiles() throws IOException {
        Path src = Fixtures.path("torch-save", "reference", "zip_nested.pt.safetensors");
        Files.copy(src, tmp.resolve("x.safetensors"));
        Files.copy(src, tmp.resolve("y.safetensors"));
        assertThatThrownBy(() -> Checkpoints.open(tmp))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("is in both x.safetensors and y.safetensors");
    }

    private static void checkSha256(CheckpointIndex index, JsonNode ref, Arena arena) {
        for (GlobalTensor t : index.tensors()) {
            ReferenceCheck.assertTensorMatches(arena, t, ref.get(t.key()));
        }
    }
}
