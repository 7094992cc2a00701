package ckpt.convert.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EngineRegistryTest {
    @TempDir
    Path tmp;

    @Test
    void javaIsBuiltInAndAutoPicksIt() {
        EngineRegistry r = EngineRegistry.discover(List.of(tmp.resolve("absent")));
        assertThat(r.installed()).extracting(i -> i.engine().name()).containsExactly("java");
        assertThat(r.select("java").engine()).isInstanceOf(JavaEngine.class);
        EngineRegistry.Selection auto = r.select("AUTO");
        assertThat(auto.name()).isEqualTo("java");
        assertThat(auto.autoReason()).contains("auto");
        assertThat(r.select("java").autoReason()).isNull();
    }

    @Test
    void aKnownEngineThatIsNotInstalledSaysWhereToPutIt() {
        EngineRegistry r = EngineRegistry.discover(List.of(tmp));
        assertThatThrownBy(() -> r.select("nd4j")).isInstanceOf(EngineUnavailableException.class)
                .hasMessageStartingWith("engine 'nd4j' is not installed: put its directory under " + tmp)
                .hasMessageContaining(EngineRegistry.PATH_ENV).hasMessageNotContaining("\n");
        assertThatThrownBy(() -> r.select("numpy")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unknown engine 'numpy': expected java, nd4j, cuda, auto");
    }

    /** An engine jar built here, in a directory of its own: found through its own class loader, never the class path. */
    @Test
    void enginesInADirectoryAreLoadedAndTheirStatusDecides() throws Exception {
        Path engines = tmp.resolve("engines");
        engineJar(engines.resolve("cuda"), "cuda", "EngineStatus.unavailable(\"no CUDA driver: libcuda.so.1 not found\")");
        engineJar(engines.resolve("zzz"), "zzz", "EngineStatus.available(\"test engine\")");
        EngineRegistry r = EngineRegistry.discover(List.of(engines));
        assertThat(r.installed()).extracting(i -> i.engine().name()).containsExactly("java", "cuda", "zzz");
        assertThat(r.installed().get(1).origin()).isEqualTo(engines.resolve("cuda").toString());
        assertThat(r.installed().get(1).engine().getClass().getClassLoader()).isNotSameAs(getClass().getClassLoader());
        assertThatThrownBy(() -> r.select("cuda")).isInstanceOf(EngineUnavailableException.class)
                .hasMessage("engine 'cuda' is not available: no CUDA driver: libcuda.so.1 not found");
        EngineRegistry.Selection z = r.select("zzz");
        assertThat(z.status().detail()).isEqualTo("test engine");
        assertThat(z.engine().kernels(2)).isSameAs(ckpt.convert.exec.TensorKernels.CPU);
        assertThatThrownBy(() -> r.select("numpy")).hasMessage("unknown engine 'numpy': expected java, nd4j, cuda, auto or an installed one (zzz)");
        // the directory itself may be named as a root, too
        assertThat(EngineRegistry.discover(List.of(engines.resolve("zzz"))).find("zzz")).isPresent();
    }

    @Test
    void aBrokenServiceFileIsAProblemNotACrash() throws IOException {
        Path dir = tmp.resolve("bad");
        Files.createDirectories(dir);
        try (JarOutputStream jar = new JarOutputStream(Files.newOutputStream(dir.resolve("bad.jar")))) {
            jar.putNextEntry(new JarEntry("META-INF/services/" + TensorEngine.class.getName()));
            jar.write("no.such.Engine\n".getBytes());
        }
        EngineRegistry r = EngineRegistry.discover(List.of(dir));
        assertThat(r.find("java")).isPresent();
        assertThat(r.problems()).singleElement().asString().contains(dir.toString()).contains("no.such.Engine");
        assertThatThrownBy(() -> r.select("nd4j")).hasMessageContaining("while looking: " + dir);
    }

    private void engineJar(Path dir, String name, String status) throws IOException {
        String cls = "Engine_" + name;
        Path src = tmp.resolve("src-" + name);
        Files.createDirectories(src.resolve("t"));
        Files.writeString(src.resolve("t/" + cls + ".java"), """
                package t;
                import ckpt.convert.engine.*;
                import ckpt.convert.exec.TensorKernels;
                public final class %s implements TensorEngine {
                    public String name() { return "%s"; }
                    public String description() { return "test"; }
                    public EngineStatus status() { return %s; }
                    public TensorKernels kernels(int threads) { return TensorKernels.CPU; }
                }
                """.formatted(cls, name, status));
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        Path classes = tmp.resolve("classes-" + name);
        int rc = javac.run(null, OutputStream.nullOutputStream(), System.err, "-cp", System.getProperty("java.class.path"),
                "-d", classes.toString(), src.resolve("t/" + cls + ".java").toString());
        assertThat(rc).isZero();
        Files.createDirectories(dir);
        try (JarOutputStream jar = new JarOutputStream(Files.newOutputStream(dir.resolve(name + ".jar")))) {
            jar.putNextEntry(new JarEntry("t/" + cls + ".class"));
            jar.write(Files.readAllBytes(classes.resolve("t/" + cls + ".class")));
            jar.putNextEntry(new JarEntry("META-INF/services/" + TensorEngine.class.getName()));
            jar.write(("t." + cls + "\n").getBytes());
        }
    }
}
