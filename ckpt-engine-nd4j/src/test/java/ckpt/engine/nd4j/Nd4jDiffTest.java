package ckpt.engine.nd4j;

import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static ckpt.engine.nd4j.Nd4jConvertTest.ckpt;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code ckpt diff --engine nd4j} reports exactly the numbers {@code --engine java} reports, on real fixture pairs: every
 * field of the JSON report but the engine's own. The pairs make the engine's kernels do the reading: TP-split
 * Megatron tensors read as row blocks of the global tensor (strided box copies), GPT-2's Conv1D weights against their
 * Hugging Face export (transposed copies), two training iterations and two DeepSpeed runs (every statistic non-zero),
 * and optimizer state.
 */
class Nd4jDiffTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} vs {1} {2}")
    @CsvSource({
            "megatron-llama-tp2/checkpoint/iter_0000002, megatron-llama-tp2/checkpoint/iter_0000004, --optimizer",
            "megatron-llama-tp2/checkpoint, megatron-llama-tp2-legacy-torch/checkpoint, --optimizer",
            "deepspeed-zero3-llama-dp2, deepspeed-zero2-llama-dp2-universal, --optimizer",
            "megatron-llama-tp2/checkpoint, EXPORT megatron-llama-tp2/checkpoint huggingface fp16, ''",
            "deepspeed-zero1-gpt2-fp16, EXPORT deepspeed-zero1-gpt2-fp16 huggingface bf16, ''",
    })
    void nd4jReportsTheJavaEnginesNumbers(String a, String b, String extra) throws IOException {
        Path pa = Fixtures.path(a), pb = b.startsWith("EXPORT ") ? export(b.substring("EXPORT ".length())) : Fixtures.path(b);
        JsonNode java = diff(pa, pb, extra, "java"), nd4j = diff(pa, pb, extra, "nd4j");
        assertThat(nd4j.get("engine").asText()).isEqualTo("nd4j");
        assertThat(java.get("engine").asText()).isEqualTo("java");
        assertThat(withoutEngine(nd4j)).isEqualTo(withoutEngine(java));
        assertThat(nd4j.get("engine_notes").toString()).contains("statistics computed on the JVM");
        // the pair really compares values (not only names and shapes)
        assertThat(java.get("tensors")).anySatisfy(t -> assertThat(t.get("norm_a").isNumber()).isTrue());
    }

    private JsonNode diff(Path a, Path b, String extra, String engine) throws IOException {
        List<Object> args = new ArrayList<>(List.of("diff", a, b, "--json", "--engine", engine, "--threads", "2"));
        if (!extra.isEmpty()) args.add(extra);
        Nd4jConvertTest.Run r = ckpt(args.toArray());
        assertThat(r.code()).as(r.err()).isIn(0, 1);
        assertThat(r.err()).isEmpty();
        return new ObjectMapper().readTree(r.out());
    }

    /** A fixture's export made with the java engine: {@code fixture format dtype}. */
    private Path export(String spec) {
        String[] p = spec.split(" ");
        Path out = tmp.resolve("export-" + p[1] + "-" + p[2]);
        List<Object> args = new ArrayList<>(List.of("convert", Fixtures.path(p[0]), "--format", p[1], "--dtype", p[2],
                "--output-dir", out, "--engine", "java", "--quiet"));
        if (p[0].startsWith("deepspeed-zero1-gpt2"))
            args.addAll(List.of("--config", Fixtures.path(p[0], "reference", "config.json")));
        Nd4jConvertTest.Run r = ckpt(args.toArray());
        assertThat(r.code()).as(r.err()).isZero();
        return out;
    }

    private static JsonNode withoutEngine(JsonNode j) {
        ObjectNode o = j.deepCopy();
        o.remove(List.of("engine", "engine_requested", "engine_detail", "engine_notes"));
        return o;
    }
}
