package ckpt.engine.nd4j;

import ckpt.cli.CkptCommand;
import ckpt.convert.assembly.TensorAssembler;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.index.GlobalTensor;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code ckpt convert} and {@code ckpt reshard} with {@code --engine nd4j} write the same bytes as {@code --engine java}:
 * real fixtures into every output format, with and without casts. The nd4j engine is on this module's test class path, where ServiceLoader finds it.
 */
class Nd4jConvertTest {
    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
    }

    static Run ckpt(Object... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = CkptCommand.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(Stream.of(args).map(String::valueOf).toArray(String[]::new));
        return new Run(code, out.toString(), err.toString());
    }

    @ParameterizedTest(name = "{0} → {1} --dtype {2}")
    @CsvSource({
            "megatron-llama-tp2/checkpoint, huggingface, keep, ''",
            "megatron-llama-tp2/checkpoint, huggingface, fp16, ''",
            "megatron-llama-tp2/checkpoint, pytorch, fp32, ''",
            "megatron-llama-tp2/checkpoint, safetensors, bf16, ''",
            "megatron-qwen3-tp2/checkpoint, huggingface, fp32, ''",
            "megatron-llama-tp2-legacy-torch/checkpoint, safetensors, fp16, ''",
            "dcp-variety/checkpoint, safetensors, keep, ''",
            "dcp-variety/checkpoint, pytorch, bf16, ''",
            "deepspeed-zero3-llama-dp2, huggingface, fp16, deepspeed-zero3-llama-dp2/reference",
            "torch-save/files/zip_dtypes.pt, safetensors, fp32, ''",
    })
    void nd4jWritesTheJavaEnginesBytes(String fixture, String format, String dtype, String config) throws IOException {
        Path java = convert(fixture, format, dtype, config, "java");
        Path nd4j = convert(fixture, format, dtype, config, "nd4j");
        List<Path> a = files(java), b = files(nd4j);
        assertThat(b).isEqualTo(a).isNotEmpty();
        for (Path rel : a)
            assertThat(Files.mismatch(java.resolve(rel), nd4j.resolve(rel))).as(rel.toString()).isEqualTo(-1L);
    }

    /**
     * {@code ckpt reshard --engine nd4j} writes the same bytes as {@code --engine java}: every file but {@code .metadata}
     * (whose storage_meta names each run's own output directory) byte for byte, and the
     * {@code .metadata} of both mapping the same global tensors.
     */
    @ParameterizedTest(name = "reshard {0} --tp {1}")
    @CsvSource({"megatron-llama-tp2/checkpoint, 1", "megatron-llama-tp2-legacy-torch/checkpoint, 1",
            "megatron-llama-tp2-legacy-torch/checkpoint, 2"})
    void nd4jReshardsToTheJavaEnginesBytes(String fixture, int tp) throws IOException {
        Path[] outs = new Path[2];
        String[] engines = {"java", "nd4j"};
        for (int i = 0; i < 2; i++) {
            outs[i] = tmp.resolve("reshard-" + engines[i]);
            Run r = ckpt("reshard", Fixtures.path(fixture), "--output-dir", outs[i], "--tp", tp, "--engine", engines[i],
                    "--json", "--threads", "2");
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(new ObjectMapper().readTree(r.out()).get("engine").asText()).isEqualTo(engines[i]);
        }
        List<Path> a = files(outs[0]), b = files(outs[1]);
        assertThat(b).isEqualTo(a).isNotEmpty();
        for (Path rel : a)
            if (!rel.getFileName().toString().equals(".metadata"))
                assertThat(Files.mismatch(outs[0].resolve(rel), outs[1].resolve(rel))).as(rel.toString()).isEqualTo(-1L);
        assertThat(globalSha(outs[1])).isEqualTo(globalSha(outs[0])).isNotEmpty();
    }

    private static Map<String, String> globalSha(Path dir) {
        Map<String, String> out = new TreeMap<>();
        try (CheckpointIndex idx = Checkpoints.open(dir);
             Arena arena = Arena.ofConfined()) {
            for (GlobalTensor t : idx.tensors()) {
                MemorySegment s = arena.allocate(t.byteSize());
                TensorAssembler.assemble(t, s);
                out.put(t.key(), Fixtures.sha256(s));
            }
        }
        return out;
    }

    private Path convert(String fixture, String format, String dtype, String config, String engine) throws IOException {
        Path out = tmp.resolve(engine);
        List<Object> args = new ArrayList<>(List.of("convert", Fixtures.path(fixture), "--format", format, "--output-dir", out,
                "--dtype", dtype, "--engine", engine, "--json", "--threads", "2"));
        if (!config.isEmpty()) args.addAll(List.of("--config", Fixtures.path(config)));
        Run r = ckpt(args.toArray());
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("engine").asText()).isEqualTo(engine);
        for (JsonNode note : j.get("engine_notes")) assertThat(note.asText()).contains("casts ran on the java kernels: ND4J writes");
        return out;
    }

    private static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).map(dir::relativize).sorted().toList();
        }
    }
}
