package ckpt.convert.engine;

import ckpt.convert.exec.TensorKernels;

/**
 * A tensor engine: a named provider of {@link TensorKernels}, chosen with {@code --engine NAME}. Engines are found with
 * {@link java.util.ServiceLoader} ({@code META-INF/services/ckpt.convert.engine.TensorEngine}): the {@code java}
 * engine on the class path, others from their own directories ({@link EngineRegistry}), so a heavy engine's jars and
 * native libraries stay away from every run that does not ask for it.
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li><b>Byte-identical output.</b> For every call, the kernels write exactly the bytes the {@code java} engine's
 *       kernels ({@link TensorKernels#CPU}) write: same rounding (round to nearest even for fp32 → bf16/fp16, single
 *       rounding per cast, double → half formats through float as PyTorch does), same NaN bits (fp32 → bf16 gives
 *       {@code 0x7FC0}), same zeros. An operation the engine cannot do exactly is delegated to
 *       {@link TensorKernels#CPU} and, once per kind, reported in {@link TensorKernels#notes()} with the reason.
 *       Output never depends on the engine, the thread count or the order of work.</li>
 *   <li><b>Cheap to construct.</b> The provider's public no-argument constructor, {@link #name()} and
 *       {@link #description()} must not load native libraries or touch a device: every ckpt run may instantiate every
 *       installed provider. The heavy work belongs in {@link #status()} and {@link #kernels(int)}.</li>
 *   <li><b>{@link #status()}</b> says whether the engine can run on this machine now; when it cannot, the reason is one
 *       line a user can act on (e.g. {@code "no CUDA driver: libcuda.so.1 not found"}). It never throws.</li>
 *   <li><b>{@link #kernels(int)}</b> is called only after an available {@link #status()}. {@code threads} is the number
 *       of executor workers that will call the kernels concurrently (each on its own destination range); an engine
 *       with its own pools sizes them so the total does not oversubscribe the machine. The caller closes the kernels.</li>
 *   <li><b>Memory</b> stays bounded by what is in flight: kernels get host {@link java.lang.foreign.MemorySegment}s of at
 *       most a piece (default 32 MiB) of scratch and output, must not copy whole tensors or models, and must not keep
 *       references to those segments after a call returns.</li>
 * </ul>
 */
public interface TensorEngine {
    /** The id {@code --engine} takes: lower case, e.g. {@code java}, {@code nd4j}, {@code cuda}. */
    String name();

    /** One line for listings, e.g. {@code "ND4J 1.0.0-M2.1 (nd4j-native, CPU)"}. */
    String description();

    /** Whether the engine can run here; may load native libraries (once) but never throws. */
    EngineStatus status();

    /** Kernels for {@code threads} concurrent workers; called only when {@link #status()} is available. */
    TensorKernels kernels(int threads);
}
