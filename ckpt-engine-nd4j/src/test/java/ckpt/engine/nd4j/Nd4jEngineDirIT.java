package ckpt.engine.nd4j;

import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The engine as a user installs it: the packaged {@code target/engine/nd4j/} directory, found by the CLI jar (which
 * has no ND4J class) through {@code CKPT_ENGINE_PATH} or as {@code lib/engines/nd4j/} beside {@code lib/ckpt.jar}.
 */
class Nd4jEngineDirIT {
    @TempDir
    Path tmp;

    static final Path CLI = Path.of(System.getProperty("ckpt.cli.jar"));
    static final Path ENGINE = Path.of(System.getProperty("ckpt.engine.dir"));
    static final Path CKPT = Fixtures.path("megatron-llama-tp2/checkpoint");

    record Run(int code, String out, String err) {
    }

    static Run ckpt(Path jar, Map<String, String> env, Object... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-jar", jar.toString()));
        for (Object a : args) cmd.add(String.valueOf(a));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("CKPT_ENGINE_PATH");
        pb.environment().putAll(env);
        Path out = Files.createTempFile("ckpt", ".out"), err = Files.createTempFile("ckpt", ".err");
        int code = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start().waitFor();
        return new Run(code, Files.readString(out), Files.readString(err));
    }

    @Test
    void theEngineDirectoryOnCkptEnginePathConvertsLikeJava() throws Exception {
        Path java = tmp.resolve("java"), nd4j = tmp.resolve("nd4j");
        Run j = ckpt(CLI, Map.of(), "convert", CKPT, "--format", "huggingface", "--output-dir", java, "--dtype", "fp16", "--engine", "java", "--quiet");
        assertThat(j.code()).as(j.err()).isZero();
        Run n = ckpt(CLI, Map.of("CKPT_ENGINE_PATH", ENGINE.getParent().toString()), "convert", CKPT, "--format", "huggingface",
                "--output-dir", nd4j, "--dtype", "fp16", "--engine", "nd4j", "--json");
        assertThat(n.code()).as(n.err()).isZero();
        assertThat(n.err()).doesNotContain("SLF4J").doesNotContain("WARNING");
        JsonNode summary = new ObjectMapper().readTree(n.out());
        assertThat(summary.get("engine").asText()).isEqualTo("nd4j");
        assertThat(summary.get("engine_detail").asText()).startsWith("ND4J 1.0.0-M2.1");
        assertSameTree(java, nd4j);
    }

    @Test
    void libEnginesBesideTheJarIsFoundWithoutConfiguration() throws Exception {
        Path lib = Files.createDirectories(tmp.resolve("ckpt/lib"));
        Files.copy(CLI, lib.resolve("ckpt.jar"));
        Files.createDirectories(lib.resolve("engines"));
        Files.createSymbolicLink(lib.resolve("engines/nd4j"), ENGINE);
        Run n = ckpt(lib.resolve("ckpt.jar"), Map.of(), "convert", CKPT, "--format", "safetensors", "--output-dir", tmp.resolve("st"),
                "--engine", "nd4j");
        assertThat(n.code()).as(n.err()).isZero();
        assertThat(n.out()).contains("\nengine: nd4j (ND4J 1.0.0-M2.1");
        Run missing = ckpt(CLI, Map.of("CKPT_ENGINE_PATH", tmp.resolve("nowhere").toString()), "convert", CKPT,
                "--format", "safetensors", "--output-dir", tmp.resolve("x"), "--engine", "nd4j");
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err().strip()).doesNotContain("\n").startsWith("ckpt: engine 'nd4j' is not installed");
    }

    private static void assertSameTree(Path a, Path b) throws IOException {
        List<Path> fa, fb;
        try (Stream<Path> s = Files.walk(a); Stream<Path> t = Files.walk(b)) {
            fa = s.filter(Files::isRegularFile).map(a::relativize).sorted().toList();
            fb = t.filter(Files::isRegularFile).map(b::relativize).sorted().toList();
        }
        assertThat(fb).isEqualTo(fa).isNotEmpty();
        for (Path rel : fa) assertThat(Files.mismatch(a.resolve(rel), b.resolve(rel))).as(rel.toString()).isEqualTo(-1L);
    }
}
