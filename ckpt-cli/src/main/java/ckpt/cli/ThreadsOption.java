package ckpt.cli;

import ckpt.convert.exec.PlanExecutor;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** {@code --threads N}, a mixin for the commands whose work runs on a {@link PlanExecutor} (convert, reshard). */
final class ThreadsOption {
    @Option(names = "--threads", paramLabel = "N",
            description = "workers copying (and casting) in parallel (default: the number of cores); output bytes do not depend on it")
    Integer threads;

    /** An executor with that many workers; N < 1 is a usage error. */
    PlanExecutor executor(CommandLine.Model.CommandSpec spec) {
        if (threads != null && threads < 1)
            throw new CommandLine.ParameterException(spec.commandLine(), "--threads must be at least 1, got " + threads);
        return new PlanExecutor().withThreads(threads == null ? PlanExecutor.defaultThreads() : threads);
    }
}
