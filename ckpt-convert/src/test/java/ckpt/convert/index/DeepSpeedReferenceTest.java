package ckpt.convert.index;

import ckpt.convert.analysis.SizeAnalyzer;
import ckpt.convert.analysis.SizeReport;
import ckpt.format.megatron.KeyCategory;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The DeepSpeed fixtures against DeepSpeed's own outputs: the consolidated state dict equals what
 * {@code zero_to_fp32.get_fp32_state_dict_from_zero_checkpoint} returned (keys in its order, dtype, shape, sha256),
 * the 16-bit module weights equal the saved {@code module} dict, and the size analysis accounts for every byte.
 */
class DeepSpeedReferenceTest {
    @ParameterizedTest
    @ValueSource(strings = {"deepspeed-zero1-gpt2-fp16", "deepspeed-zero3-llama-dp2"})
    void consolidatedStateDictEqualsZeroToFp32(String fixture) {
        JsonNode ref = Fixtures.json(fixture, "reference", "tensors.json");
        try (CheckpointIndex index = Checkpoints.open(Fixtures.path(fixture)); Arena arena = Arena.ofConfined()) {
            assertThat(index.format()).isEqualTo(CheckpointFormat.DEEPSPEED);
            assertThat(DeepSpeedIndexer.stateDictKeys(index)).containsExactlyElementsOf(Fixtures.fieldNames(ref));
            Map<String, String> shared = DeepSpeedIndexer.sharedParams(index);
            for (String key : Fixtures.fieldNames(ref)) {
                GlobalTensor t = index.tensor(shared.getOrDefault(key, key)).orElseThrow();
                ReferenceCheck.assertTensorMatches(arena, t, ref.get(key));
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"deepspeed-zero1-gpt2-fp16, 1, 1, fp16", "deepspeed-zero3-llama-dp2, 3, 2, bf16"})
    void stageWorldSizeAndPrecision(String fixture, int stage, int world, String precision) {
        try (CheckpointIndex index = Checkpoints.open(Fixtures.path(fixture))) {
            assertThat(index.era()).startsWith("DeepSpeed ZeRO stage " + stage + ", " + precision + ", world size " + world);
            assertThat(index.iteration()).isEqualTo(4L);
            assertThat(index.parallelism().dataParallel()).isEqualTo(world);
        }
    }

    @Test
    void zero1ModuleWeightsEqualTheSavedModule() {
        String fixture = "deepspeed-zero1-gpt2-fp16";
        JsonNode ref = Fixtures.json(fixture, "reference", "module_tensors.json").get("mp_rank_00_model_states.pt");
        try (CheckpointIndex index = Checkpoints.open(Fixtures.path(fixture)); Arena arena = Arena.ofConfined()) {
            @SuppressWarnings("unchecked")
            Map<String, String> tied = (Map<String, String>) index.details().get("module_tied_views");
            assertThat(tied).containsEntry("lm_head.weight", "transformer.wte.weight");
            for (String key : Fixtures.fieldNames(ref)) {
                String name = DeepSpeedIndexer.MODULE_PREFIX + tied.getOrDefault(key, key);
                ReferenceCheck.assertTensorMatches(arena, index.tensor(name).orElseThrow(), ref.get(key));
            }
        }
    }

    @Test
    void zero3ModulePlaceholdersAreLeftOut() {
        String fixture = "deepspeed-zero3-llama-dp2";
        JsonNode ref = Fixtures.json(fixture, "reference", "module_tensors.json");
        try (CheckpointIndex index = Checkpoints.open(Fixtures.path(fixture))) {
            for (String file : Fixtures.fieldNames(ref))
                for (String key : Fixtures.fieldNames(ref.get(file)))
                    assertThat(Fixtures.longs(ref.get(file).get(key).get("shape"))).as(key).containsExactly(0L);
            assertThat(index.details().get("module_placeholders")).isEqualTo(Fixtures.fieldNames(ref.get(Fixtures.fieldNames(ref).getFirst())).size());
            assertThat(index.tensors()).noneMatch(t -> t.key().startsWith(DeepSpeedIndexer.MODULE_PREFIX));
        }
    }

    @Test
    void universalStateEqualsDsToUniversalOutput() {
        String fixture = "deepspeed-zero2-llama-dp2-universal";
        JsonNode ref = Fixtures.json(fixture, "reference", "tensors.json");
        try (CheckpointIndex index = Checkpoints.open(Fixtures.path(fixture)); Arena arena = Arena.ofConfined()) {
            assertThat(index.era()).startsWith("DeepSpeed universal checkpoint (from ZeRO stage 2)");
            assertThat(DeepSpeedIndexer.stateDictKeys(index)).containsExactlyInAnyOrderElementsOf(Fixtures.fieldNames(ref));
            for (String param : Fixtures.fieldNames(ref)) {
                JsonNode files = ref.get(param);
                ReferenceCheck.assertTensorMatches(arena, index.tensor(param).orElseThrow(), files.get("fp32.pt"));
                ReferenceCheck.assertTensorMatches(arena, index.tensor(DeepSpeedIndexer.EXP_AVG_PREFIX + param).orElseThrow(), files.get("exp_avg.pt"));
                ReferenceCheck.assertTensorMatches(arena, index.tensor(DeepSpeedIndexer.EXP_AVG_SQ_PREFIX + param).orElseThrow(), files.get("exp_avg_sq.pt"));
            }
        }
    }

    /** Every byte of every file in exactly one class; parameters counted once; fp32 master and moments 4 B each. */
    @ParameterizedTest
    @CsvSource({
            "deepspeed-zero1-gpt2-fp16, global_step4, 224640",
            "deepspeed-zero3-llama-dp2, global_step4, 221760",
            "deepspeed-zero2-llama-dp2-universal, global_step4_universal, 221760",
    })
    void sizeClassesAddUpToTheFiles(String fixture, String tag, long parameters) throws Exception {
        long onDisk;
        try (Stream<Path> s = Files.walk(Fixtures.path(fixture, tag))) {
            onDisk = s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
        try (CheckpointIndex index = Checkpoints.open(Fixtures.path(fixture))) {
            SizeReport r = SizeAnalyzer.analyze(index);
            assertThat(r.totalBytes()).isEqualTo(onDisk);
            assertThat(r.byCategory().values().stream().mapToLong(Long::longValue).sum()).isEqualTo(onDisk);
            assertThat(r.byCategory()).doesNotContainKey(SizeReport.TRUNCATED);
            assertThat(r.parameters()).isEqualTo(parameters);
            assertThat(r.byCategory().get(SizeReport.OPTIMIZER_MASTER)).isEqualTo(4 * parameters);
            assertThat(r.byCategory().get(SizeReport.OPTIMIZER_EXP_AVG)).isEqualTo(4 * parameters);
            assertThat(r.byCategory().get(SizeReport.OPTIMIZER_EXP_AVG_SQ)).isEqualTo(4 * parameters);
            for (SizeReport.FileBytes f : r.files())
                assertThat(f.tensorPayload() + f.objectBytes()).as(f.name()).isLessThanOrEqualTo(f.bytes());
            long weights16 = index.tensors().stream().filter(t -> t.category() == KeyCategory.MODEL_WEIGHT)
                    .mapToLong(GlobalTensor::byteSize).sum();
            assertThat(weights16).isEqualTo(fixture.contains("zero3") ? 0 : 2 * parameters);
        }
    }

    @Test
    void tiedWeightsCountOnce() {
        try (CheckpointIndex index = Checkpoints.open(Fixtures.path("deepspeed-zero1-gpt2-fp16"))) {
            assertThat(DeepSpeedIndexer.sharedParams(index)).isEqualTo(Map.of("lm_head.weight", "transformer.wte.weight"));
            assertThat(index.tensor("lm_head.weight")).isEmpty();
            assertThat(index.tensor(DeepSpeedIndexer.MODULE_PREFIX + "lm_head.weight")).isEmpty();
            assertThat(DeepSpeedIndexer.stateDictKeys(index)).endsWith("lm_head.weight");
            assertThat(List.copyOf(index.tensors())).filteredOn(t -> t.category() == KeyCategory.OPTIMIZER_MASTER).hasSize(52);
        }
    }
}
