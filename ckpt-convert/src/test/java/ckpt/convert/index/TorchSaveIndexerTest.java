package ckpt.convert.index;

import ckpt.convert.assembly.Coverage;
import ckpt.convert.assembly.TensorAssembler;
import ckpt.format.megatron.KeyCategory;
import ckpt.format.safetensors.SafetensorsEntry;
import ckpt.format.safetensors.SafetensorsFile;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * torch.save files through {@link Checkpoints#open}: every tensor, assembled with {@link TensorAssembler} (strided
 * views included), equals the contiguous copy PyTorch wrote into {@code reference/<file>.safetensors}; storage
 * sharing and non-tensor entries follow the reference JSON.
 */
class TorchSaveIndexerTest {
    private static Path pt(String name) {
        return Fixtures.path("torch-save", "files", name);
    }

    private static JsonNode reference(String name) {
        return Fixtures.json(Fixtures.path("torch-save", "reference", name + ".json"));
    }

    /** The reference's '/'-joined path as an index key. */
    private static String key(String refPath) {
        return refPath.equals("<root>") ? TorchSaveIndexer.ROOT_KEY : refPath.replace('/', '.');
    }

    @ParameterizedTest
    @ValueSource(strings = {"legacy_nonzip.pt", "zip_dtypes.pt", "zip_module_state.pt", "zip_nested.pt", "zip_single_tensor.pt"})
    void everyTensorEqualsPyTorchsContiguousCopy(String name) {
        Path refFile = Fixtures.path("torch-save", "reference", name + ".safetensors");
        try (CheckpointIndex index = Checkpoints.open(pt(name)); SafetensorsFile ref = SafetensorsFile.open(refFile);
             Arena arena = Arena.ofConfined()) {
            assertThat(index.format()).isEqualTo(CheckpointFormat.TORCH_SAVE);
            Map<String, SafetensorsEntry> expected = new LinkedHashMap<>();
            for (SafetensorsEntry e : ref.header().entries()) expected.put(key(e.name()), e);
            assertThat(new TreeSet<>(index.tensorsByKey().keySet())).isEqualTo(new TreeSet<>(expected.keySet()));
            for (GlobalTensor t : index.tensors()) {
                SafetensorsEntry e = expected.get(t.key());
                assertThat(t.dtype()).as(t.key()).isEqualTo(e.dtype());
                assertThat(t.shape()).as(t.key()).isEqualTo(e.shape());
                assertThat(Coverage.problem(t)).as(t.key()).isEmpty();
                MemorySegment dst = arena.allocate(Math.max(1, t.byteSize())).asSlice(0, t.byteSize());
                TensorAssembler.assemble(t, dst);
                assertThat(dst.mismatch(ref.data(e))).as(t.key()).isEqualTo(-1L);
            }
            assertThat(index.files()).singleElement().satisfies(f -> {
                assertThat(f.name()).isEqualTo(name);
                assertThat(f.bytes()).isEqualTo(java.nio.file.Files.size(pt(name)));
            });
        }
    }

    /** Tensors of one storage group share one record; file data bytes count each record once. */
    @ParameterizedTest
    @ValueSource(strings = {"legacy_nonzip.pt", "zip_dtypes.pt", "zip_module_state.pt", "zip_nested.pt", "zip_single_tensor.pt"})
    void sharedStoragesAreOneRecord(String name) {
        JsonNode tensors = reference(name).get("tensors");
        Map<Long, Long> bytesOfGroup = new HashMap<>();
        Map<Long, List<String>> keysOfGroup = new LinkedHashMap<>();
        tensors.properties().forEach(e -> {
            long g = e.getValue().get("storage_group").asLong();
            bytesOfGroup.put(g, e.getValue().get("storage_nbytes").asLong());
            keysOfGroup.computeIfAbsent(g, x -> new ArrayList<>()).add(key(e.getKey()));
        });
        try (CheckpointIndex index = Checkpoints.open(pt(name))) {
            assertThat(index.details().get("storage_bytes"))
                    .isEqualTo(bytesOfGroup.values().stream().mapToLong(Long::longValue).sum());
            assertThat(index.details().get("storage_records")).isEqualTo(bytesOfGroup.size());
            Map<String, GlobalTensor> byKey = index.tensorsByKey();
            Set<String> sharedGroups = new TreeSet<>();
            keysOfGroup.forEach((g, keys) -> {
                PieceSource first = byKey.get(keys.getFirst()).pieces().getFirst().source();
                for (String k : keys) {
                    PieceSource s = byKey.get(k).pieces().getFirst().source();
                    assertThat(List.of(s.file(), s.offset(), s.length())).as(k)
                            .isEqualTo(List.of(first.file(), first.offset(), first.length()));
                }
                if (keys.size() > 1) sharedGroups.add(String.join(",", keys));
            });
            @SuppressWarnings("unchecked")
            Map<String, List<String>> shared = (Map<String, List<String>>) index.details().getOrDefault("shared_storages", Map.of());
            Set<String> actual = new TreeSet<>();
            shared.values().forEach(keys -> actual.add(String.join(",", keys)));
            assertThat(actual).isEqualTo(sharedGroups);
        }
    }

    /** Object entries are the maximal subtrees of the reference structure that hold no tensor. */
    @ParameterizedTest
    @ValueSource(strings = {"legacy_nonzip.pt", "zip_dtypes.pt", "zip_module_state.pt", "zip_nested.pt", "zip_single_tensor.pt"})
    void objectEntriesAreTheTensorFreeSubtrees(String name) {
        List<String> expected = new ArrayList<>();
        tensorFree(reference(name).get("structure"), new ArrayList<>(), expected);
        try (CheckpointIndex index = Checkpoints.open(pt(name))) {
            assertThat(index.objects()).extracting(ObjectEntry::key).containsExactlyInAnyOrderElementsOf(expected);
            assertThat(index.objects()).allSatisfy(o -> {
                assertThat(o.file()).isEqualTo(name);
                assertThat(o.bytes()).isZero();
            });
        }
    }

    @Test
    void nestedFileArgsIterationAndCategories() {
        JsonNode objects = reference("zip_nested.pt").get("objects");
        try (CheckpointIndex index = Checkpoints.open(pt("zip_nested.pt"))) {
            assertThat(index.iteration()).isEqualTo(objects.get("iteration").asLong());
            assertThat(index.args()).containsEntry("lr", objects.at("/args/items/lr").asDouble())
                    .containsEntry("name", objects.at("/args/items/name").asText())
                    .containsEntry("layers", List.of(1L, 2L, 3L))
                    .containsEntry("extra", null);
            assertThat(index.config()).as("a script's own args name no architecture").isNull();
            assertThat(index.details()).containsEntry("checkpoint_version", objects.get("checkpoint_version").asDouble());
            assertThat(index.tensor("list_of_tensors.1")).get().extracting(GlobalTensor::category).isEqualTo(KeyCategory.OTHER);
            assertThat(index.objects()).filteredOn(o -> o.key().equals("args")).singleElement()
                    .extracting(ObjectEntry::category).isEqualTo(KeyCategory.COMMON_STATE);
        }
        try (CheckpointIndex index = Checkpoints.open(pt("zip_module_state.pt"))) {
            assertThat(index.tensors()).extracting(GlobalTensor::category).containsOnly(KeyCategory.MODEL_WEIGHT);
            assertThat(index.era()).isEqualTo("torch.save zip");
        }
        try (CheckpointIndex index = Checkpoints.open(pt("legacy_nonzip.pt"))) {
            assertThat(index.details()).containsEntry("container", "legacy stream");
        }
    }

    /** FSDP2 full state saved by torch.save and by safetensors (flattened with '.') on the same rank: same tensors. */
    @Test
    void liveFullStateMatchesItsSafetensorsTwin() {
        Path dir = Fixtures.path("dcp-fsdp2", "live-full-state");
        try (CheckpointIndex index = Checkpoints.open(dir.resolve("live_full_state.pt"));
             SafetensorsFile twin = SafetensorsFile.open(dir.resolve("live_full_state.safetensors"));
             Arena arena = Arena.ofConfined()) {
            Set<String> twinKeys = new TreeSet<>();
            twin.header().entries().forEach(e -> twinKeys.add(e.name()));
            assertThat(new TreeSet<>(index.tensorsByKey().keySet())).isEqualTo(twinKeys);
            for (GlobalTensor t : index.tensors()) {
                SafetensorsEntry e = twin.header().entry(t.key()).orElseThrow();
                assertThat(t.shape()).as(t.key()).isEqualTo(e.shape());
                MemorySegment dst = arena.allocate(Math.max(1, t.byteSize())).asSlice(0, t.byteSize());
                TensorAssembler.assemble(t, dst);
                assertThat(dst.mismatch(twin.data(e))).as(t.key()).isEqualTo(-1L);
                KeyCategory expected = t.key().startsWith("model.") ? KeyCategory.MODEL_WEIGHT
                        : t.key().endsWith(".exp_avg") ? KeyCategory.OPTIMIZER_EXP_AVG
                        : t.key().endsWith(".exp_avg_sq") ? KeyCategory.OPTIMIZER_EXP_AVG_SQ : KeyCategory.OPTIMIZER_OTHER;
                assertThat(t.category()).as(t.key()).isEqualTo(expected);
            }
        }
    }

    /** Megatron's legacy per-rank file: args → config (README: 4 layers, hidden 64), params viewing shared buffers. */
    @Test
    void megatronLegacyRankFile() {
        Path file = Fixtures.path("megatron-llama-tp2-legacy-torch", "checkpoint", "iter_0000004", "mp_rank_00", "model_optim_rng.pt");
        JsonNode members = Fixtures.json(Fixtures.path("megatron-llama-tp2-legacy-torch", "reference", "iter_0000004",
                "structure.json")).get("mp_rank_00/model_optim_rng.pt").get("members");
        long dataBytes = 0;
        int records = 0;
        for (JsonNode m : members) {
            if (m.get("name").asText().startsWith("model_optim_rng/data/")) {
                dataBytes += m.get("file_size").asLong();
                records++;
            }
        }
        try (CheckpointIndex index = Checkpoints.open(file); Arena arena = Arena.ofConfined()) {
            assertThat(index.iteration()).isEqualTo(4L);
            assertThat(index.config()).isNotNull();
            assertThat(index.config().numLayers()).isEqualTo(4);
            assertThat(index.config().hiddenSize()).isEqualTo(64);
            assertThat(index.config().numAttentionHeads()).isEqualTo(8);
            assertThat(index.args()).containsEntry("tensor_model_parallel_size", 2L);
            assertThat(index.details()).containsEntry("storage_bytes", dataBytes).containsEntry("storage_records", records);
            assertThat(index.tensors()).filteredOn(t -> t.key().startsWith("model.")).isNotEmpty()
                    .allSatisfy(t -> assertThat(t.category()).isIn(KeyCategory.MODEL_WEIGHT, KeyCategory.EXTRA_STATE));
            long viewBytes = 0;
            for (GlobalTensor t : index.tensors()) {
                viewBytes += t.byteSize();
                MemorySegment dst = arena.allocate(Math.max(1, t.byteSize())).asSlice(0, t.byteSize());
                TensorAssembler.assemble(t, dst);
            }
            assertThat(viewBytes).isPositive();
        }
    }

    /** Megatron's distrib_optim.pt (dp_zero layout): buckets keyed by index and dtype tuple; fp32 main + Adam moments. */
    @Test
    void megatronDistribOptimFile() {
        Path file = Fixtures.path("megatron-llama-tp2-legacy-torch", "checkpoint", "iter_0000004", "mp_rank_00", "distrib_optim.pt");
        JsonNode members = Fixtures.json(Fixtures.path("megatron-llama-tp2-legacy-torch", "reference", "iter_0000004",
                "structure.json")).get("mp_rank_00/distrib_optim.pt").get("members");
        List<Long> recordSizes = new ArrayList<>();
        for (JsonNode m : members)
            if (m.get("name").asText().startsWith("distrib_optim/data/")) recordSizes.add(m.get("file_size").asLong());
        try (CheckpointIndex index = Checkpoints.open(file)) {
            String bucket = "0.(torch.bfloat16, torch.float32).";
            assertThat(index.tensors()).extracting(GlobalTensor::key, GlobalTensor::category).containsExactly(
                    org.assertj.core.groups.Tuple.tuple(bucket + "param", KeyCategory.OPTIMIZER_MASTER),
                    org.assertj.core.groups.Tuple.tuple(bucket + "exp_avg", KeyCategory.OPTIMIZER_EXP_AVG),
                    org.assertj.core.groups.Tuple.tuple(bucket + "exp_avg_sq", KeyCategory.OPTIMIZER_EXP_AVG_SQ));
            assertThat(index.tensors()).extracting(GlobalTensor::byteSize).containsExactlyElementsOf(recordSizes);
            assertThat(index.objects()).extracting(ObjectEntry::category).containsOnly(KeyCategory.OPTIMIZER_OTHER);
        }
    }

    // ---- reference helpers ----

    /** Collects the paths of maximal tensor-free subtrees of a reference structure node. */
    private static boolean tensorFree(JsonNode n, List<String> path, List<String> out) {
        List<Map.Entry<String, JsonNode>> children = new ArrayList<>();
        if (n.has("__tensor__")) return false;
        if (n.isArray()) {
            for (int i = 0; i < n.size(); i++) children.add(Map.entry(Integer.toString(i), n.get(i)));
        } else if (n.has("__type__") && n.has("items")) {
            n.get("items").properties().forEach(e -> children.add(Map.entry(e.getKey(), e.getValue())));
        } else {
            if (path.isEmpty()) out.add(TorchSaveIndexer.ROOT_KEY);
            return true; // a leaf, a tuple of scalars, bytes
        }
        List<String> free = new ArrayList<>();
        boolean allFree = true;
        for (Map.Entry<String, JsonNode> c : children) {
            List<String> p = new ArrayList<>(path);
            p.add(c.getKey());
            List<String> sub = new ArrayList<>();
            if (tensorFree(c.getValue(), p, sub)) free.add(String.join(".", p));
            else allFree = false;
            out.addAll(sub);
        }
        if (allFree && !path.isEmpty()) return true;
        out.addAll(free);
        return false;
    }
}
