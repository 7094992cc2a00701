package ckpt.convert.engine;

/**
 * {@code --engine auto}: the {@code java} engine. Measured (docs/BENCHMARKS.md, "Tensor engines"): on the CPU, box
 * copies — all of a keep-dtype conversion and most of a TP/PP merge — are 4–13× faster in java than ND4J's strided
 * assign; the casts conversions need (fp32 → bf16/fp16) run the java code in both engines; only transposes were
 * faster in ND4J, by less than 1.6×; and loading ND4J costs seconds per run. On the H200 box (16 cores) the cuda
 * engine matched java with all threads (fp32 → bf16 of 8 GB: 5.07 s vs 5.04 s) and reshard's copies never reach a
 * GPU; it was ahead only at one thread. So auto never loads another engine, with or without a GPU.
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
