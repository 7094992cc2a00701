package ckpt.cli;

import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static ckpt.cli.RotationCommandsTest.ckpt;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code ckpt reshard}: JSON summary, human summary, exit codes, one-line errors (values: ReshardTest in ckpt-convert). */
class ReshardCommandTest {
    static final Path CKPT = Fixtures.path("megatron-llama-tp2/checkpoint");

    @TempDir
    Path tmp;

    @Test
    void reshardsToTp1WithJsonSummaryThenVerifies() throws Exception {
        Path out = tmp.resolve("tp1");
        RotationCommandsTest.Run r = ckpt("reshard", CKPT, "--output-dir", out, "--tp", "1", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("schema").asText()).isEqualTo("ckpt.reshard/1");
        assertThat(j.get("ckpt_version").asText()).isEqualTo(BuildInfo.CURRENT.full());
        assertThat(j.get("iteration").asLong()).isEqualTo(4);
        assertThat(j.get("source_layout").toString()).isEqualTo("{\"tp\":2,\"pp\":1}");
        assertThat(j.get("target_layout").toString()).isEqualTo("{\"tp\":1,\"pp\":1}");
        assertThat(j.get("source_optimizer").asText()).isEqualTo("dp_reshardable");
        assertThat(j.get("optimizer").asText()).isEqualTo("fully_reshardable");
        assertThat(j.get("optimizer_tensors").asInt()).isEqualTo(27);
        assertThat(j.get("files").toString()).contains("iter_0000004/__0_0.distcp", "iter_0000004/.metadata", "latest_checkpointed_iteration.txt");
        assertThat(out.resolve("iter_0000004/__1_0.distcp")).doesNotExist();
        assertThat(ckpt("verify", out, "--deep").code()).isZero();

        RotationCommandsTest.Run human = ckpt("reshard", out, "--output-dir", tmp.resolve("tp2pp2"), "--tp", "2", "--pp", "2");
        assertThat(human.code()).as(human.err()).isZero();
        // the saved args keep the training job's layout (TP 2), which Megatron compares against to skip RNG state
        assertThat(human.out()).contains("resharded iter_0000004 TP 2 × PP 1 → ").contains("TP 2 × PP 2")
                .contains("27 optimizer tensors (fully_reshardable → fully_reshardable)").contains("--load ");
    }

    @Test
    void errorsAndUsage() {
        RotationCommandsTest.Run r = ckpt("reshard", CKPT, "--output-dir", tmp.resolve("x"), "--tp", "4");
        assertThat(r.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.err().strip().lines().count()).as(r.err()).isEqualTo(1);
        assertThat(r.err()).contains("query groups do not split evenly over --tp 4");
        assertThat(Files.exists(tmp.resolve("x"))).isFalse();
        assertThat(ckpt("reshard", CKPT, "--output-dir", tmp.resolve("x"), "--optimizer", "adam").code()).isEqualTo(ExitCodes.USAGE);
        assertThat(ckpt("reshard", CKPT, "--output-dir", tmp.resolve("x"), "--tp", "0").code()).isEqualTo(ExitCodes.USAGE);
        assertThat(ckpt("reshard", CKPT).code()).isEqualTo(ExitCodes.USAGE);
        RotationCommandsTest.Run inside = ckpt("reshard", CKPT, "--output-dir", CKPT.resolve("out"));
        assertThat(inside.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(inside.err()).contains("inside the input checkpoint");
    }

    @Test
    void legacySourceWithAnExplicitEngine() throws Exception {
        Path legacy = Fixtures.path("megatron-llama-tp2-legacy-torch/checkpoint");
        Path out = tmp.resolve("legacy-tp1");
        RotationCommandsTest.Run r = ckpt("reshard", legacy, "--output-dir", out, "--tp", "1", "--engine", "java", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("engine").asText()).isEqualTo("java");
        assertThat(j.get("engine_requested").asText()).isEqualTo("java");
        assertThat(j.get("engine_notes")).isEmpty();
        assertThat(j.get("source_layout").toString()).isEqualTo("{\"tp\":2,\"pp\":1}");
        assertThat(j.get("source_optimizer").asText()).isEqualTo("distrib_optim.pt");
        assertThat(j.get("optimizer").asText()).isEqualTo("fully_reshardable");
        assertThat(j.get("optimizer_tensors").asInt()).isEqualTo(27);
        assertThat(ckpt("verify", out, "--deep").code()).isZero();

        RotationCommandsTest.Run human = ckpt("reshard", legacy, "--output-dir", tmp.resolve("drop"), "--optimizer", "drop");
        assertThat(human.code()).as(human.err()).isZero();
        assertThat(human.out()).contains("TP 2 × PP 1", "optimizer state dropped", "\nengine: java (Java ", "--no-load-optim");

        RotationCommandsTest.Run missing = ckpt("reshard", legacy, "--output-dir", tmp.resolve("nd4j"), "--engine", "nd4j");
        assertThat(missing.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(missing.err().strip()).doesNotContain("\n").startsWith("ckpt: engine 'nd4j' is not installed");
        assertThat(tmp.resolve("nd4j")).doesNotExist();
    }
}
