package ckpt.convert.engine;

import ckpt.convert.exec.TensorKernels;

/**
 * The {@code java} engine: {@link TensorKernels#CPU}, the FFM kernels every other engine is measured against. Always
 * available; {@code threads} needs nothing from it because the executor's workers each run whole pieces.
 */
public final class JavaEngine implements TensorEngine {
    public static final String NAME = "java";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "Java FFM kernels on the CPU (built in)";
    }

    @Override
    public EngineStatus status() {
        return EngineStatus.available("Java " + Runtime.version().feature() + ", " + Runtime.getRuntime().availableProcessors() + " cores");
    }

    @Override
    public TensorKernels kernels(int threads) {
        return TensorKernels.CPU;
    }
}
