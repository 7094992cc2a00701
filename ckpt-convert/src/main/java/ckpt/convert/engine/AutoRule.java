package ckpt.convert.engine;

/**
 * {@code --engine auto}: the {@code java} engine. Measured (docs/BENCHMARKS.md, "Tensor engines"): on the CPU the
 * conversions' element work — strided copies, casts, 2-d transposes of at most a piece at a time — is bound by memory
 * bandwidth, and the java kernels are at least as fast as ND4J's for it, while ND4J costs ~0.45 s of start-up plus
 * its native library load; so auto never loads another engine on a CPU-only machine.
 */
final class AutoRule {
    private AutoRule() {
    }

    static EngineRegistry.Selection choose(EngineRegistry registry) {
        TensorEngine java = registry.find(JavaEngine.NAME).orElseGet(JavaEngine::new);
        return new EngineRegistry.Selection(java, java.status(),
                "picked by auto: java is the fastest measured for copies and casts on the CPU");
    }
}
