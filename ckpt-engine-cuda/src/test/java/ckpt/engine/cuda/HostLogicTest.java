package ckpt.engine.cuda;

import ckpt.format.tensor.DType;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HostLogicTest {
    @Test
    void elementwiseGridCoversSmallBlocksOnceAndCapsLargeOnes() {
        assertThat(LaunchGeometry.elementwise(1, 2112)).isEqualTo(new LaunchGeometry(1, 1, 256, 1));
        assertThat(LaunchGeometry.elementwise(257, 2112)).isEqualTo(new LaunchGeometry(2, 1, 256, 1));
        assertThat(LaunchGeometry.elementwise(1L << 40, 2112)).isEqualTo(new LaunchGeometry(2112, 1, 256, 1));
        assertThat(LaunchGeometry.elementwise(1L << 40, 1 << 20).gridX()).isEqualTo(65535);
        assertThat(LaunchGeometry.elementwise(0, 2112).gridX()).isEqualTo(1);
    }

    @Test
    void transposeGridIsOneBlockPerTileUpToTheHardwareLimits() {
        assertThat(LaunchGeometry.transpose(4096, 128)).isEqualTo(new LaunchGeometry(4, 128, 32, 8));
        assertThat(LaunchGeometry.transpose(33, 1)).isEqualTo(new LaunchGeometry(1, 2, 32, 8));
        assertThat(LaunchGeometry.transpose(1L << 30, 3)).isEqualTo(new LaunchGeometry(1, 65535, 32, 8));
    }

    @Test
    void kernelCodesCoverTheJavaEnginesCastsAndRawCopiesOnly() {
        assertThat(ElementCode.of(DType.FLOAT32, DType.BFLOAT16)).contains(new ElementCode(ElementCode.F32, ElementCode.BF16));
        assertThat(ElementCode.of(DType.FLOAT64, DType.FLOAT16)).contains(new ElementCode(ElementCode.F64, ElementCode.F16));
        assertThat(ElementCode.of(DType.INT64, DType.INT64)).contains(new ElementCode(ElementCode.RAW64, ElementCode.RAW64));
        assertThat(ElementCode.of(DType.BOOL, DType.BOOL)).contains(new ElementCode(ElementCode.RAW8, ElementCode.RAW8));
        assertThat(ElementCode.of(DType.COMPLEX128, DType.COMPLEX128)).isEmpty();
        assertThat(ElementCode.of(DType.INT32, DType.FLOAT32)).isEmpty();
        assertThat(ElementCode.of(DType.FLOAT8_E4M3FN, DType.BFLOAT16)).isEmpty();
        assertThat(CudaLane.ckWidth(ElementCode.F64)).isEqualTo(8);
        assertThat(CudaLane.ckWidth(ElementCode.RAW8)).isEqualTo(1);
    }

    @Test
    void offloadSendsCastsAndTransposesOfLargeBlocksInAutoAndEverythingExactInAll() {
        Offload auto = new Offload(false, 1 << 20);
        assertThat(auto.cpuReason(DType.FLOAT32, DType.BFLOAT16, 1 << 20, false)).isNull();
        assertThat(auto.cpuReason(DType.BFLOAT16, DType.BFLOAT16, 1 << 20, true)).isNull();
        assertThat(auto.cpuReason(DType.BFLOAT16, DType.BFLOAT16, 1 << 20, false)).contains("plain copies");
        assertThat(auto.cpuReason(DType.FLOAT32, DType.BFLOAT16, 1000, false)).contains("under 1048576 bytes");
        assertThat(auto.cpuReason(DType.INT32, DType.FLOAT32, 1 << 20, false)).contains("int32 -> float32");
        Offload all = new Offload(true, 1 << 20);
        assertThat(all.cpuReason(DType.BFLOAT16, DType.BFLOAT16, 1, false)).isNull();
        assertThat(all.cpuReason(DType.COMPLEX128, DType.COMPLEX128, 1 << 20, false)).contains("16 bytes wide");
    }

    @Test
    void missingNativeLibrariesGetOneActionableLine() {
        assertThat(CudaDevice.bindingFailure(new UnsatisfiedLinkError(
                "/root/.javacpp/cache/cuda-13.1-9.19-1.5.13-linux-x86_64.jar/org/bytedeco/cuda/linux-x86_64/libjnicudart.so: libcuda.so.1: cannot open shared object file: No such file or directory")))
                .isEqualTo("libcuda.so.1 not found: no NVIDIA driver on this machine");
        UnsatisfiedLinkError chained = new UnsatisfiedLinkError("no jnicudart in java.library.path");
        chained.initCause(new UnsatisfiedLinkError("x/libjnicudart.so: libcudart.so.13: cannot open shared object file: No such file or directory"));
        assertThat(CudaDevice.bindingFailure(chained)).startsWith("libcudart.so.13 not found: put CUDA 13's runtime on LD_LIBRARY_PATH");
        assertThat(CudaDevice.bindingFailure(new NoClassDefFoundError("org/bytedeco/javacpp/Loader")))
                .isEqualTo("cannot load JavaCPP's CUDA bindings: org/bytedeco/javacpp/Loader");
    }

    @Test
    void offloadPropertiesAreChecked() {
        System.setProperty("ckpt.cuda.offload", "sometimes");
        try {
            assertThatThrownBy(Offload::fromSystemProperties).hasMessageContaining("auto or all");
        } finally {
            System.clearProperty("ckpt.cuda.offload");
        }
        assertThat(Offload.fromSystemProperties()).isEqualTo(new Offload(false, Offload.DEFAULT_MIN_BYTES));
    }

    @Test
    void theKernelImageIsInTheJar() throws IOException {
        try (var in = CudaDevice.class.getResourceAsStream(CudaDevice.KERNELS)) {
            assertThat(in).isNotNull();
            byte[] head = in.readNBytes(4);
            // fatbin magic 0xBA55ED50, little endian
            assertThat(head).containsExactly(0x50, 0xED, 0x55, 0xBA);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
