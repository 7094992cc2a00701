package ckpt.convert.memory;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code ckpt memory} against Megatron's own {@code theoretical_memory_usage.py}, run on the same args by
 * {@code scripts/megatron_memory_reference.py} ({@code testdata/memory-reference/}): for every Megatron fixture and
 * every override set, ckpt reads the args from the checkpoint itself (the 8B metadata-only fixture: from its weight
 * shapes and file names plus the options a user gives) and must reproduce Megatron's doubles bit for bit.
 */
class MegatronReferenceTest {
    static final Map<String, String> OPTION_NAMES = Map.of("tp", "tensor_model_parallel_size", "pp", "pipeline_model_parallel_size",
            "vpp", "virtual_pipeline_model_parallel_size", "cp", "context_parallel_size", "ep", "expert_model_parallel_size",
            "dp", "data_parallel_size");

    /** What a user gives for the 8B sample, whose args are in its absent data files (its README's command). */
    static final Map<String, Object> LLAMA3_8B_OPTIONS = Map.of("num_attention_heads", 32L, "seq_length", 2048L,
            "micro_batch_size", 1L, "global_batch_size", 2L);

    static Object value(JsonNode v) {
        if (v.isNull()) return null;
        if (v.isBoolean()) return v.asBoolean();
        if (v.isIntegralNumber()) return v.asLong();
        if (v.isNumber()) return v.asDouble();
        return v.asText();
    }

    @Test
    void everyFixtureAndOverrideSetEqualsMegatronExactly() throws Exception {
        JsonNode ref = new ObjectMapper().readTree(Fixtures.path("memory-reference", "megatron_theoretical_memory.json").toFile());
        Map<String, CheckpointIndex> open = new HashMap<>();
        int checked = 0;
        try {
            for (JsonNode c : ref.get("cases")) {
                String fixture = c.get("fixture").asText();
                CheckpointIndex index = open.computeIfAbsent(fixture, f -> Checkpoints.open(Fixtures.path(f, "checkpoint")));
                Map<String, Object> overrides = new LinkedHashMap<>();
                if (fixture.equals("megatron-llama3-8b-meta")) overrides.putAll(LLAMA3_8B_OPTIONS);
                c.get("overrides").fields().forEachRemaining(e -> overrides.put(OPTION_NAMES.getOrDefault(e.getKey(), e.getKey()), value(e.getValue())));
                MemoryEstimate m = MemoryEstimator.estimate(MemoryInputs.args(index, overrides));
                String what = fixture + " / " + c.get("case").asText();
                assertThat(m.numMicrobatches()).as(what).isEqualTo(c.get("num_microbatches").asLong());
                assertThat(m.weightAndOptimizerBytes()).as(what).isEqualTo(c.get("weight_and_optimizer_bytes").asDouble());
                assertThat(m.activationBytes()).as(what).isEqualTo(c.get("activation_bytes").asDouble());
                assertThat(m.megatronModelsActivations()).as(what).isTrue();
                // Every model and parallel arg Megatron used equals the one ckpt used.
                c.get("args").fields().forEachRemaining(e -> {
                    Object mine = m.args().get(e.getKey());
                    Object theirs = value(e.getValue());
                    if (theirs instanceof Long l && mine instanceof Double d) mine = d == Math.rint(d) ? (Object) d.longValue() : d;
                    assertThat(mine).as(what + " arg " + e.getKey()).isEqualTo(theirs);
                });
                checked++;
            }
        } finally {
            for (CheckpointIndex i : open.values()) i.close();
        }
        assertThat(checked).isEqualTo(ref.get("cases").size()).isGreaterThanOrEqualTo(5 * 7);
    }
}
