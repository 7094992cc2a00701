package ckpt.cli;

import ckpt.convert.plan.PartSpec;
import picocli.CommandLine.Option;

/**
 * {@code --part I/N|slurm}, a mixin for the commands that write their output in parts (convert, reshard). Each command
 * keeps its own {@code --finish}: what the finish writes differs.
 */
final class PartOption {
    @Option(names = "--part", paramLabel = "I/N|slurm",
            description = "write only part I of N (1-based) into the shared staging dir DIR.parts (every task computes the same plan; "
                    + "parts are balanced by bytes); 'slurm' takes I and N from the job array (SLURM_ARRAY_TASK_ID/MIN/MAX) or an "
                    + "srun step (SLURM_PROCID/SLURM_NTASKS). Then run --finish once. docs/SLURM.md")
    String part;

    /** The part this task writes; null for a whole run or a finish. A bad spec, or --part with --finish, throws. */
    PartSpec spec(boolean finish) {
        if (part != null && finish) throw new IllegalArgumentException("--part and --finish are separate steps: run the parts, then --finish once");
        return part == null ? null : PartSpec.parse(part, System.getenv());
    }
}
