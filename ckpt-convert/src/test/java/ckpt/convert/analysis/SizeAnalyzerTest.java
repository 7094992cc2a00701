package ckpt.convert.analysis;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The size analysis against independent numbers: the 8B seed case's real file sizes and Megatron's own parameter
 * count (reference/b_summary.json, measured on the machine that wrote it), and the small fixtures' bytes on disk.
 */
class SizeAnalyzerTest {
    private static final Path EIGHT_B = Fixtures.path("megatron-llama3-8b-meta/checkpoint");

    @Test
    void eightBillionAccountsForEveryByteOfTheRealFiles() {
        JsonNode ref = Fixtures.json(Fixtures.path("megatron-llama3-8b-meta/reference/b_summary.json"));
        JsonNode cat = ref.get("categories");
        try (CheckpointIndex index = Checkpoints.open(EIGHT_B)) {
            SizeReport s = SizeAnalyzer.analyze(index);
            assertThat(s.totalBytes()).isEqualTo(ref.get("iter_dir_total_bytes").asLong()).isEqualTo(112_425_298_583L);
            assertThat(s.parameters()).isEqualTo(ref.get("log_parameter_counts").get(0).asLong()).isEqualTo(8_030_261_248L);
            assertThat(s.dataPresent()).isFalse();
            Map<String, Long> c = s.byCategory();
            assertThat(c.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(s.totalBytes());

            assertThat(c.get("model_weights_bfloat16")).isEqualTo(cat.get("model weights (bfloat16)").get("payload_bytes").asLong());
            assertThat(c.get(SizeReport.OPTIMIZER_MASTER)).isEqualTo(cat.get("optimizer state 'param' (float32)").get("payload_bytes").asLong());
            assertThat(c.get(SizeReport.OPTIMIZER_EXP_AVG)).isEqualTo(cat.get("optimizer state 'exp_avg' (float32)").get("payload_bytes").asLong());
            assertThat(c.get(SizeReport.OPTIMIZER_EXP_AVG_SQ)).isEqualTo(cat.get("optimizer state 'exp_avg_sq' (float32)").get("payload_bytes").asLong());
            // 815 tensor items × 1577 bytes of torch.save zip around each payload.
            assertThat(c.get(SizeReport.CONTAINER_OVERHEAD)).isEqualTo(ref.get("per_tensor_item_overhead_bytes").get("sum").asLong())
                    .isEqualTo(815L * 1577);
            assertThat(s.tensorRecords()).isEqualTo(815);
            long objects = 0;
            for (var it = cat.fields(); it.hasNext(); ) {
                var e = it.next();
                if (e.getKey().startsWith("bytes objects")) objects += e.getValue().get("stored_bytes").asLong();
            }
            assertThat(objects).isEqualTo(216_551);
            assertThat(c.get(SizeReport.OPTIMIZER_OTHER) + c.get(SizeReport.COMMON_STATE) + c.get(SizeReport.RNG_STATE)
                    + c.get(SizeReport.EXTRA_STATE) + c.get(SizeReport.OTHER_STATE)).isEqualTo(objects);
            assertThat(c.get(SizeReport.COMMON_STATE)).isEqualTo(cat.get("bytes objects: common_state/shard_0_1").get("stored_bytes").asLong());
            assertThat(c.get(SizeReport.EXTRA_STATE)).isEqualTo(cat.get("bytes objects: decoder").get("stored_bytes").asLong());
            assertThat(c.get(SizeReport.RNG_STATE)).isEqualTo(cat.get("bytes objects: rng_state/shard_0").get("stored_bytes").asLong());
            assertThat(c.get(SizeReport.OPTIMIZER_OTHER)).isEqualTo(cat.get("bytes objects: optimizer").get("stored_bytes").asLong());
            assertThat(c.get(SizeReport.METADATA_FILES)).isEqualTo(ref.get("iter_dir_files").get(".metadata").asLong()
                    + ref.get("iter_dir_files").get("metadata.json").asLong());
            assertThat(c).doesNotContainKey(SizeReport.TRUNCATED);

            // 2 B bf16 + 4 B fp32 master + 4 B exp_avg + 4 B exp_avg_sq.
            assertThat(s.expected().totalBytesPerParameter()).isEqualTo(14L);
            assertThat(s.expected().bytes()).isEqualTo(14L * 8_030_261_248L);
            assertThat(s.expected().differenceBytes()).isEqualTo(1_285_255L + objects + 139_242 + 63);
            assertThat(s.expected().difference().values().stream().mapToLong(Long::longValue).sum())
                    .isEqualTo(s.expected().differenceBytes());
            assertThat(s.expected().difference()).doesNotContainKey(SizeReport.OPTIMIZER_BEYOND_PARAMETERS);

            assertThat(s.converted().bfloat16Bytes()).isEqualTo(2L * 8_030_261_248L);
            assertThat(s.converted().float32Bytes()).isEqualTo(4L * 8_030_261_248L);
            assertThat(s.converted().vocabPaddingRows()).isNull();   // vocab unknown without args
            assertThat(String.join("\n", s.explanation()))
                    .contains("absent").contains("14 B per parameter").contains("master copy")
                    .contains("1,577 bytes per record").contains("104.70 GiB").contains("112.43 GB").contains("105G");
        }
    }

    /** Intact fixtures: the total is the sum of the iteration dir's files on disk, and the classes add up to it. */
    @ParameterizedTest
    @ValueSource(strings = {"megatron-llama-tp2/checkpoint/iter_0000004", "megatron-llama-tp2-core014/checkpoint/iter_0000004",
            "megatron-qwen3-tp2/checkpoint/iter_0000004", "dcp-fsdp2/checkpoint", "dcp-variety/checkpoint",
            "dcp-variety-safetensors/checkpoint"})
    void classesAddUpToTheBytesOnDisk(String fixture) throws Exception {
        Path dir = Fixtures.path(fixture);
        long onDisk;
        try (Stream<Path> s = Files.list(dir)) {
            onDisk = s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
        try (CheckpointIndex index = Checkpoints.open(dir)) {
            SizeReport s = SizeAnalyzer.analyze(index);
            assertThat(s.totalBytes()).isEqualTo(onDisk);
            assertThat(s.byCategory().values().stream().mapToLong(Long::longValue).sum()).isEqualTo(onDisk);
            assertThat(s.byCategory().values()).allMatch(v -> v >= 0);
            assertThat(s.dataPresent()).isTrue();
            for (SizeReport.FileBytes f : s.files())
                assertThat(f.tensorPayload() + f.objectBytes() + f.overhead()).as(f.name()).isEqualTo(f.bytes());
        }
    }

    /** megatron-llama-tp2: 1000-token vocab padded to 1024, untied, hidden 64 (model.json args). */
    @Test
    void paddedVocabRowsAreTrimmedFromTheConvertedSize() {
        JsonNode args = Fixtures.json(Fixtures.path("megatron-llama-tp2/reference/iter_0000004/model.json")).get("args");
        JsonNode tensors = Fixtures.json(Fixtures.path("megatron-llama-tp2/reference/iter_0000004/tensors.json"));
        long params = 0;
        for (var it = tensors.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getKey().startsWith("optimizer.")) params += e.getValue().get("numel").asLong();
        }
        long rows = args.get("padded_vocab_size").asLong() - args.get("vocab_size").asLong();
        try (CheckpointIndex index = Checkpoints.open(Fixtures.path("megatron-llama-tp2/checkpoint"))) {
            SizeReport s = SizeAnalyzer.analyze(index);
            assertThat(s.parameters()).isEqualTo(params);
            assertThat(s.converted().vocabPaddingRows()).isEqualTo(rows).isEqualTo(24);
            assertThat(s.converted().hfParameters()).isEqualTo(params - 2 * rows * args.get("hidden_size").asLong());
            assertThat(s.converted().hfBfloat16Bytes()).isEqualTo(2 * s.converted().hfParameters());
            // dp_reshardable at TP=2: each TP rank's bucket also holds the replicated layer norms, so the optimizer
            // tensors have more elements than there are parameters; the difference is named, not hidden.
            long optimizerElements = 0;
            for (var it = tensors.fields(); it.hasNext(); ) {
                var e = it.next();
                if (e.getKey().endsWith(".param")) optimizerElements += e.getValue().get("numel").asLong();
            }
            assertThat(s.expected().difference().get(SizeReport.OPTIMIZER_BEYOND_PARAMETERS))
                    .isEqualTo(3 * 4 * (optimizerElements - params));
            assertThat(String.join("\n", s.explanation())).contains("24 padding rows").contains("tensor-parallel");
        }
    }
}
