package ckpt.cli;

import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static ckpt.cli.RotationCommandsTest.ckpt;
import static org.assertj.core.api.Assertions.assertThat;

class MemoryCommandTest {
    static final Path LLAMA = Fixtures.path("megatron-llama-tp2/checkpoint");
    static final Path LLAMA_8B = Fixtures.path("megatron-llama3-8b-meta/checkpoint");

    static JsonNode referenceCase(String fixture, String name) throws Exception {
        JsonNode ref = new ObjectMapper().readTree(Fixtures.path("memory-reference", "megatron_theoretical_memory.json").toFile());
        for (JsonNode c : ref.get("cases"))
            if (c.get("fixture").asText().equals(fixture) && c.get("case").asText().equals(name)) return c;
        throw new AssertionError("no reference case " + fixture + " / " + name);
    }

    @Test
    void jsonFiguresAreMegatronsThroughTheCommandLine() throws Exception {
        RotationCommandsTest.Run r = ckpt("memory", LLAMA, "--tp", "4", "--dp", "2", "--sequence-parallel",
                "--recompute-granularity", "selective", "--no-distributed-optimizer", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        JsonNode ref = referenceCase("megatron-llama-tp2", "tp4-selective-sp-no-distopt");
        assertThat(j.get("schema").asText()).isEqualTo("ckpt.memory/1");
        assertThat(j.get("weight_and_optimizer_bytes").asDouble()).isEqualTo(ref.get("weight_and_optimizer_bytes").asDouble());
        assertThat(j.get("activation_bytes").asDouble()).isEqualTo(ref.get("activation_bytes").asDouble());
        assertThat(j.get("activation_bytes_is_megatrons").asBoolean()).isTrue();
        assertThat(j.get("args").get("world_size").asLong()).isEqualTo(8);
        assertThat(j.get("per_gpu")).hasSize(4);
        for (JsonNode l : j.get("per_gpu")) assertThat(l.get("formula").asText()).isNotBlank();
    }

    @Test
    void metadataOnly8bWithMissingArgsAsOptionsAndGpuFit() throws Exception {
        RotationCommandsTest.Run missing = ckpt("memory", LLAMA_8B);
        assertThat(missing.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(missing.err()).contains("--num-attention-heads").contains("--seq-length").contains("--micro-batch-size").contains("--global-batch-size");

        Object[] args = {"memory", LLAMA_8B, "--num-attention-heads", "32", "--seq-length", "2048", "--micro-batch-size", "1",
                "--global-batch-size", "32", "--tp", "2", "--pp", "2", "--dp", "4"};
        RotationCommandsTest.Run r = ckpt(append(args, "--json"));
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        JsonNode ref = referenceCase("megatron-llama3-8b-meta", "tp2-pp2-dp4");
        assertThat(j.get("weight_and_optimizer_bytes").asDouble()).isEqualTo(ref.get("weight_and_optimizer_bytes").asDouble());
        assertThat(j.get("activation_bytes").asDouble()).isEqualTo(ref.get("activation_bytes").asDouble());

        // As the sample was trained (TP 1, DP 2, no flash attention needed full recompute): does not fit in 80 GB,
        // and the suggested change does.
        RotationCommandsTest.Run fit = ckpt("memory", LLAMA_8B, "--num-attention-heads", "32", "--seq-length", "2048",
                "--micro-batch-size", "1", "--global-batch-size", "2", "--gpu-memory", "80GB");
        assertThat(fit.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(fit.out()).contains("does NOT fit in 80,000,000,000 bytes").contains("smallest change that fits: --tp 2");
        RotationCommandsTest.Run fitJson = ckpt("memory", LLAMA_8B, "--num-attention-heads", "32", "--seq-length", "2048",
                "--micro-batch-size", "1", "--global-batch-size", "2", "--gpu-memory", "80GB", "--json");
        JsonNode g = new ObjectMapper().readTree(fitJson.out()).get("gpu_memory");
        assertThat(g.get("fits").asBoolean()).isFalse();
        assertThat(g.get("suggestion").get("fits").asBoolean()).isTrue();
        assertThat(g.get("suggestion").get("total_bytes").asDouble()).isLessThanOrEqualTo(80e9);
        assertThat(g.get("tried").size()).isGreaterThanOrEqualTo(2);

        RotationCommandsTest.Run ok = ckpt(append(args, "--gpu-memory", "80GiB"));
        assertThat(ok.code()).isZero();
        assertThat(ok.out()).contains("fits in").contains("to spare");
    }

    @Test
    void usageErrors() {
        assertThat(ckpt("memory", LLAMA, "--recompute-granularity", "most").code()).isEqualTo(ExitCodes.USAGE);
        assertThat(ckpt("memory", LLAMA, "--gpu-memory", "lots").code()).isEqualTo(ExitCodes.USAGE);
        assertThat(ckpt("memory", LLAMA, "--global-batch-size", "3").code()).isEqualTo(ExitCodes.USAGE);
        RotationCommandsTest.Run zero = ckpt("memory", LLAMA, "--tp", "0");
        assertThat(zero.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(zero.err()).contains("--tp must be a whole number of at least 1");
        RotationCommandsTest.Run notMegatron = ckpt("memory", Fixtures.path("dcp-fsdp2/checkpoint"));
        assertThat(notMegatron.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(notMegatron.err()).contains("reads a Megatron checkpoint's args");
    }

    static Object[] append(Object[] a, Object... more) {
        Object[] out = java.util.Arrays.copyOf(a, a.length + more.length);
        System.arraycopy(more, 0, out, a.length, more.length);
        return out;
    }
}
