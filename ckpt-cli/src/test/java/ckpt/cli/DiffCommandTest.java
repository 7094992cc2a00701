package ckpt.cli;

import ckpt.format.safetensors.SafetensorsEntry;
import ckpt.format.safetensors.SafetensorsFile;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Path;

import static ckpt.cli.RotationCommandsTest.ckpt;
import static org.assertj.core.api.Assertions.assertThat;

class DiffCommandTest {
    @TempDir
    Path tmp;

    static final Path CKPT = Fixtures.path("megatron-llama-tp2/checkpoint");

    private Path export() {
        Path hf = tmp.resolve("hf");
        assertThat(ckpt("convert", CKPT, "--format", "huggingface", "--output-dir", hf, "--quiet").code()).isZero();
        return hf;
    }

    @Test
    void identicalToItsExportExitsZero() throws Exception {
        Path hf = export();
        RotationCommandsTest.Run r = ckpt("diff", CKPT, hf);
        assertThat(r.code()).as(r.err()).isEqualTo(ExitCodes.OK);
        assertThat(r.out()).contains("huggingface llama").contains("identical: 39 tensors, 39 same");
        JsonNode j = new ObjectMapper().readTree(ckpt("diff", CKPT, hf, "--json").out());
        assertThat(j.get("schema").asText()).isEqualTo("ckpt.diff/1");
        assertThat(j.get("identical").asBoolean()).isTrue();
        assertThat(j.get("summary").get("same").asInt()).isEqualTo(39);
    }

    @Test
    void changedElementExitsOneNamingTheTensorUnderBothNames() throws Exception {
        Path hf = export();
        Path file = hf.resolve("model-00001-of-00001.safetensors");
        long at;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            SafetensorsEntry e = f.header().entry("model.layers.1.self_attn.o_proj.weight").orElseThrow();
            at = f.header().dataStart() + e.begin() + (3 * 64 + 4) * 2;
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(at + 1);
            int b = raf.read();
            raf.seek(at + 1);
            raf.write(b ^ 0x40);
        }
        RotationCommandsTest.Run r = ckpt("diff", CKPT, hf);
        assertThat(r.code()).as(r.err()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.out()).containsPattern("decoder\\.layers\\.self_attention\\.linear_proj\\.weight\\[1\\] +model\\.layers\\.1\\.self_attn\\.o_proj\\.weight +different +1/4096")
                .contains("A decoder.layers.self_attention.linear_proj.weight[1, 3, 4], B model.layers.1.self_attn.o_proj.weight[3, 4]")
                .contains("different: 39 tensors, 38 same, 1 different");

        RotationCommandsTest.Run rj = ckpt("diff", CKPT, hf, "--json");
        assertThat(rj.code()).isEqualTo(ExitCodes.PROBLEMS);
        JsonNode j = new ObjectMapper().readTree(rj.out());
        assertThat(j.get("identical").asBoolean()).isFalse();
        JsonNode d = null;
        for (JsonNode t : j.get("tensors")) if (!t.get("status").asText().equals("same")) d = t;
        assertThat(d).isNotNull();
        assertThat(d.get("name_a").asText()).isEqualTo("decoder.layers.self_attention.linear_proj.weight[1]");
        assertThat(d.get("name_b").asText()).isEqualTo("model.layers.1.self_attn.o_proj.weight");
        assertThat(d.get("status").asText()).isEqualTo("different");
        assertThat(d.get("differing_elements").asLong()).isEqualTo(1);
        assertThat(d.get("first_difference").get("a").asText()).isEqualTo("decoder.layers.self_attention.linear_proj.weight[1, 3, 4]");
        assertThat(d.get("max_abs_diff").asDouble()).isPositive();
    }

    @Test
    void iterationsAndUsage() {
        RotationCommandsTest.Run r = ckpt("diff", CKPT.resolve("iter_0000002"), CKPT.resolve("iter_0000004"));
        assertThat(r.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.out()).contains("different: 9 tensors, 0 same, 9 different").contains("12 optimizer state tensors not compared");
        assertThat(ckpt("diff", CKPT).code()).isEqualTo(ExitCodes.USAGE);
        assertThat(ckpt("diff", CKPT, CKPT, "--atol", "-1").code()).isEqualTo(ExitCodes.USAGE);
        RotationCommandsTest.Run missing = ckpt("diff", CKPT, tmp.resolve("nope"));
        assertThat(missing.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(missing.err()).contains("nope").contains("no such file or directory");
    }

    @Test
    void engineIsReportedAndAMissingEngineIsOneLine() throws Exception {
        RotationCommandsTest.Run r = ckpt("diff", CKPT.resolve("iter_0000002"), CKPT.resolve("iter_0000004"), "--json", "--engine", "java");
        assertThat(r.code()).isEqualTo(ExitCodes.PROBLEMS);
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("engine").asText()).isEqualTo("java");
        assertThat(j.get("engine_requested").asText()).isEqualTo("java");
        assertThat(j.get("engine_notes")).isEmpty();
        assertThat(ckpt("diff", CKPT, CKPT).out()).contains("identical: ").contains("\nengine: java (Java ");
        for (String engine : new String[]{"nd4j", "cuda"}) {
            RotationCommandsTest.Run missing = ckpt("diff", CKPT, CKPT, "--engine", engine);
            assertThat(missing.code()).isEqualTo(ExitCodes.PROBLEMS);
            assertThat(missing.err().strip()).doesNotContain("\n").startsWith("ckpt: engine '" + engine + "' is not installed");
        }
        assertThat(ckpt("diff", CKPT, CKPT, "--engine", "numpy").code()).isEqualTo(ExitCodes.USAGE);
    }
}
