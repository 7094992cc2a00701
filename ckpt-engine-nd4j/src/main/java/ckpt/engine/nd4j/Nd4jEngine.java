package ckpt.engine.nd4j;

import ckpt.convert.engine.EngineStatus;
import ckpt.convert.engine.TensorEngine;
import ckpt.convert.exec.TensorKernels;

/**
 * The {@code nd4j} engine: strided box copies, 2-d transposes and the casts ND4J does exactly as the java engine, run
 * by ND4J's native ops on the caller's memory (no copies in or out); everything else on the java kernels
 * ({@link Nd4jKernels}). Construction touches no ND4J class: the native library loads in {@link #status()}.
 */
public final class Nd4jEngine implements TensorEngine {
    public static final String NAME = "nd4j";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "ND4J " + Nd4jRuntime.VERSION + " native ops on the CPU (or CUDA with the nd4j-cuda build)";
    }

    @Override
    public EngineStatus status() {
        return Nd4jRuntime.status();
    }

    @Override
    public TensorKernels kernels(int threads) {
        Nd4jRuntime.start(threads);
        return new Nd4jKernels();
    }
}
