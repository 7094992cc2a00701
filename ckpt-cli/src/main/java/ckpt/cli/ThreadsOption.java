package ckpt.cli;

import ckpt.convert.exec.PlanExecutor;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** {@code --threads N}, a mixin for the commands whose work runs on a {@link PlanExecutor} (convert, reshard). */
final class ThreadsOption {
    @Option(names = "--threads", paramLabel = "N",
            description = "workers copying (and casting) in parallel (default: the number of cores); output bytes do not depend on it")
    Integer threads;

    /** Above this the memory bound (workers × pieces in flight, docs/CLI.md) stops meaning anything. */
    static final int MAX = 1024;

    /** An executor with that many workers; N outside 1..{@value #MAX} is a usage error. */
    PlanExecutor executor(CommandLine.Model.CommandSpec spec) {
        if (threads != null && (threads < 1 || threads > MAX))
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--threads must be between 1 and " + MAX + ", got " + threads);
        return new PlanExecutor().withThreads(threads == null ? PlanExecutor.defaultThreads() : threads);
    }
}
