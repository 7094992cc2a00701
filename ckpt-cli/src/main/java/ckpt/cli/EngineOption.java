package ckpt.cli;

import ckpt.convert.engine.EngineRegistry;
import ckpt.convert.engine.EngineUnavailableException;
import ckpt.convert.exec.TensorKernels;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --engine java|nd4j|cuda|auto}, a mixin for every command that moves tensor data. Engines other than
 * {@code java} are found in {@code lib/engines/<name>/} beside ckpt's jar or on {@code $CKPT_ENGINE_PATH}
 * ({@link EngineRegistry}); nothing is looked up or loaded unless one is asked for.
 */
final class EngineOption {
    @Option(names = "--engine", defaultValue = "auto", paramLabel = "ENGINE",
            description = "tensor engine for copies and casts: java (built in), nd4j, cuda (installed separately: docs/ENGINES.md) "
                    + "or auto (the measured choice: java on the CPU); output bytes do not depend on it (default ${DEFAULT-VALUE})")
    String engine = EngineRegistry.AUTO;

    /** The chosen engine's kernels for {@code threads} workers, or a usage error / one-line exit-1 error. */
    Opened open(CommandLine.Model.CommandSpec spec, int threads) {
        EngineRegistry.Selection s;
        try {
            s = EngineRegistry.discover(EngineRegistry.defaultRoots(System.getenv(EngineRegistry.PATH_ENV))).select(engine);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        TensorKernels k;
        try {
            k = s.engine().kernels(threads);
        } catch (RuntimeException | LinkageError e) { // an engine that said it was available and then failed to start
            throw new EngineUnavailableException("engine '" + s.name() + "' failed to start: " + e);
        }
        return new Opened(s, engine, k);
    }

    /** An engine in use: its kernels (closed with it) and what the summary says about it. */
    record Opened(EngineRegistry.Selection selection, String requested, TensorKernels kernels) implements AutoCloseable {
        String name() {
            return selection.name();
        }

        /** Lines for the human summary: which engine ran, then its notes (fallbacks and their reasons). */
        List<String> summaryLines() {
            var lines = new java.util.ArrayList<String>();
            lines.add("engine: " + name() + " (" + selection.status().detail() + ")"
                    + (selection.autoReason() == null ? "" : "; " + selection.autoReason()));
            for (String n : kernels.notes()) lines.add("engine " + name() + ": " + n);
            return lines;
        }

        /** The JSON summary's fields. */
        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("engine", name());
            m.put("engine_requested", requested);
            m.put("engine_detail", selection.status().detail());
            m.put("engine_notes", kernels.notes());
            return m;
        }

        @Override
        public void close() {
            kernels.close();
        }
    }
}
