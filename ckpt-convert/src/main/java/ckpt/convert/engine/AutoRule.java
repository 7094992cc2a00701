package ckpt.convert.engine;

/**
 * {@code --engine auto}: the {@code java} engine. Measured (docs/BENCHMARKS.md, "Tensor engines"): on the CPU, box
 * copies — all of a keep-dtype conversion and most of a TP/PP merge — are 4–13× faster in java than ND4J's strided
 * assign; the casts conversions need (fp32 → bf16/fp16) run the java code in both engines; only transposes were
 * faster in ND4J, by less than 1.6×; and loading ND4J costs seconds per run. So auto never loads another engine on a
 * CPU-only machine.
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
