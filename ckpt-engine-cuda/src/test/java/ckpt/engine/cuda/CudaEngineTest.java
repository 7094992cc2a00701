package ckpt.engine.cuda;

import ckpt.convert.engine.EngineRegistry;
import ckpt.convert.engine.EngineStatus;
import ckpt.convert.engine.EngineUnavailableException;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** The engine as ckpt finds it (ServiceLoader), on a machine with or without an NVIDIA driver. */
class CudaEngineTest {
    private static boolean driverPresent() {
        for (String dir : List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu"))
            if (Files.exists(Path.of(dir, "libcuda.so.1"))) return true;
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) for (String dir : ld.split(":")) if (!dir.isBlank() && Files.exists(Path.of(dir, "libcuda.so.1"))) return true;
        return false;
    }

    @Test
    void isFoundByServiceLoaderAndIsCheapToConstruct() {
        EngineRegistry registry = EngineRegistry.discover(List.of());
        assertThat(registry.find("cuda")).containsInstanceOf(CudaEngine.class);
        assertThat(new CudaEngine().name()).isEqualTo("cuda");
    }

    @Test
    void withoutADriverItIsUnavailableWithOneLineAndSelectingItSaysWhy() {
        assumeFalse(driverPresent(), "an NVIDIA driver is installed here");
        EngineStatus status = new CudaEngine().status();
        assertThat(status.available()).isFalse();
        assertThat(status.detail()).isEqualTo("libcuda.so.1 not found: no NVIDIA driver on this machine");
        assertThatThrownBy(() -> EngineRegistry.discover(List.of()).select("cuda"))
                .isInstanceOf(EngineUnavailableException.class)
                .hasMessage("engine 'cuda' is not available: libcuda.so.1 not found: no NVIDIA driver on this machine");
        assertThatThrownBy(() -> new CudaEngine().kernels(4)).hasMessageContaining("not available");
    }
}
