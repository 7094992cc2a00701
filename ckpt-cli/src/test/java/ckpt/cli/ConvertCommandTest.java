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

class ConvertCommandTest {
    @TempDir
    Path tmp;

    static final Path CKPT = Fixtures.path("megatron-llama-tp2/checkpoint");

    @Test
    void convertsToHuggingfaceAndReportsJson() throws Exception {
        Path out = tmp.resolve("hf");
        RotationCommandsTest.Run r = ckpt("convert", CKPT, "--format", "huggingface", "--output-dir", out, "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("schema").asText()).isEqualTo("ckpt.convert/1");
        assertThat(j.get("ckpt_version").asText()).isEqualTo(BuildInfo.CURRENT.full());
        assertThat(j.get("architecture").asText()).isEqualTo("LlamaForCausalLM");
        assertThat(j.get("iteration").asLong()).isEqualTo(4);
        assertThat(j.get("tensors").asInt()).isEqualTo(2 + 9 * 4 + 1);
        assertThat(j.get("files").toString()).contains("config.json", "model-00001-of-00001.safetensors", "model.safetensors.index.json");
        assertThat(r.err()).contains("warning: no tokenizer files");
        assertThat(out.resolve("config.json")).exists();
    }

    @Test
    void pytorchSummaryAndExistingDirRefused() throws Exception {
        Path out = tmp.resolve("pt");
        RotationCommandsTest.Run r = ckpt("convert", CKPT, "--format", "pytorch", "--output-dir", out, "--dtype", "fp32");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("converted megatron_torch_dist iteration 4").contains("pytorch").contains("27 tensors");
        assertThat(out.resolve("model.pt")).exists();

        RotationCommandsTest.Run again = ckpt("convert", CKPT, "--format", "pytorch", "--output-dir", out);
        assertThat(again.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(again.err()).contains("output directory exists (use --force to replace it)");
        assertThat(ckpt("convert", CKPT, "--format", "pytorch", "--output-dir", out, "--force", "--quiet").code()).isZero();
    }

    @Test
    void usageErrors() {
        assertThat(ckpt("convert", CKPT, "--format", "onnx", "--output-dir", tmp.resolve("x")).code()).isEqualTo(ExitCodes.USAGE);
        assertThat(ckpt("convert", CKPT, "--format", "pytorch", "--output-dir", tmp.resolve("x"), "--dtype", "int8").code()).isEqualTo(ExitCodes.USAGE);
        RotationCommandsTest.Run r = ckpt("convert", CKPT, "--format", "huggingface", "--output-dir", tmp.resolve("y"), "--arch", "gpt2");
        assertThat(r.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.err()).contains("cannot convert to GPT2LMHeadModel");
        assertThat(Files.exists(tmp.resolve("y"))).isFalse();
    }

    @Test
    void importsHuggingfaceIntoMegatronAndPrintsTheFlags() throws Exception {
        Path hf = tmp.resolve("hf"), mg = tmp.resolve("mg");
        assertThat(ckpt("convert", CKPT, "--format", "huggingface", "--output-dir", hf, "--quiet").code()).isZero();
        RotationCommandsTest.Run r = ckpt("convert", hf, "--format", "megatron", "--tp", "2", "--output-dir", mg);
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("(megatron)").contains("--load " + mg + " --finetune")
                .contains("--num-layers 4 --hidden-size 64").contains("--tensor-model-parallel-size 2").contains("--vocab-size 1000");
        assertThat(mg.resolve("release/__1_0.distcp")).exists();
        RotationCommandsTest.Run j = ckpt("convert", hf, "--format", "megatron", "--output-dir", tmp.resolve("mg1"), "--json");
        assertThat(new ObjectMapper().readTree(j.out()).get("megatron_flags").toString()).contains("--swiglu");
        RotationCommandsTest.Run bad = ckpt("convert", hf, "--format", "megatron", "--tp", "0", "--output-dir", tmp.resolve("z"));
        assertThat(bad.code()).isEqualTo(ExitCodes.USAGE);
        RotationCommandsTest.Run ep = ckpt("convert", hf, "--format", "megatron", "--ep", "2", "--output-dir", tmp.resolve("z"));
        assertThat(ep.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(ep.err()).contains("config.json").contains("--ep 2 needs a mixture-of-experts model");
        assertThat(Files.exists(tmp.resolve("z"))).isFalse();
    }
}
