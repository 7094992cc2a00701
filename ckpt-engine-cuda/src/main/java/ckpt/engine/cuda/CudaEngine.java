package ckpt.engine.cuda;

import ckpt.convert.engine.EngineStatus;
import ckpt.convert.engine.TensorEngine;
import ckpt.convert.exec.TensorKernels;

/**
 * The {@code cuda} engine: casts and transposes on an NVIDIA GPU (sm_80 or newer) through CUDA's driver API, bound
 * by JavaCPP's CUDA 13 presets. Needs the NVIDIA driver and libcudart.so.13 on the library path; without them its
 * status says which is missing. Tuning (system properties, e.g. in CKPT_JAVA_OPTS): {@code ckpt.cuda.device}
 * (ordinal, default 0), {@code ckpt.cuda.offload} ({@link Offload}), {@code ckpt.cuda.chunk-bytes} (per staging
 * buffer, default 8 MiB), {@code ckpt.cuda.lanes} (at most that many workers use the GPU at once, default 8).
 */
public final class CudaEngine implements TensorEngine {
    public static final String NAME = "cuda";
    private static final long DEFAULT_CHUNK_BYTES = 8L << 20;
    private static final int SLOTS = 2;

    private EngineStatus status;
    private CudaDevice device;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "NVIDIA GPU through CUDA 13 (JavaCPP presets): casts and transposes on the device";
    }

    @Override
    public synchronized EngineStatus status() {
        if (status == null) {
            try {
                device = CudaDevice.open(Integer.getInteger("ckpt.cuda.device", 0));
                status = EngineStatus.available(device.description);
            } catch (CudaUnavailableException e) {
                status = EngineStatus.unavailable(e.getMessage());
            } catch (RuntimeException | LinkageError e) { // never a trace from a status
                status = EngineStatus.unavailable(CudaDevice.bindingFailure(e));
            }
        }
        return status;
    }

    @Override
    public synchronized TensorKernels kernels(int threads) {
        if (!status().available()) throw new IllegalStateException("cuda engine not available: " + status.detail());
        long chunk = Long.getLong("ckpt.cuda.chunk-bytes", DEFAULT_CHUNK_BYTES);
        if (chunk < 4096) throw new IllegalArgumentException("ckpt.cuda.chunk-bytes must be at least 4096");
        int lanes = Math.max(1, Math.min(Math.max(threads, 1), Integer.getInteger("ckpt.cuda.lanes", 8)));
        CudaDevice d = device;
        // The kernels own the device from here (they close it); a later status() opens it again if asked.
        device = null;
        status = null;
        return new CudaKernels(d, Offload.fromSystemProperties(), lanes, SLOTS, chunk);
    }
}
