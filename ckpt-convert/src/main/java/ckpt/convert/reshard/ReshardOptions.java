package ckpt.convert.reshard;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One {@code ckpt reshard} run.
 *
 * @param tp            target tensor-parallel size, null = the source's
 * @param pp            target pipeline-parallel size, null = the source's
 * @param ep            target expert-parallel size, null = 1 (dense models only)
 * @param optimizer     null = keep the source's optimizer state ({@code fully_reshardable}) when it has any
 * @param iteration     which {@code iter_*} of a save dir, null = the one the tracker names
 * @param verifyRecords check every source record's stored CRC-32 before its bytes are used
 * @param fsync         force the output to storage before it is published ({@code --no-fsync} off)
 */
public record ReshardOptions(Path source, Path outputDir, Integer tp, Integer pp, Integer ep, OptimizerChoice optimizer,
                             Long iteration, boolean force, boolean verifyRecords, boolean fsync) {
    /** Output forced to storage: the default. */
    public ReshardOptions(Path source, Path outputDir, Integer tp, Integer pp, Integer ep, OptimizerChoice optimizer,
                          Long iteration, boolean force, boolean verifyRecords) {
        this(source, outputDir, tp, pp, ep, optimizer, iteration, force, verifyRecords, true);
    }

    public ReshardOptions {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(outputDir, "outputDir");
        if (tp != null && tp < 1 || pp != null && pp < 1 || ep != null && ep < 1)
            throw new IllegalArgumentException("--tp, --pp and --ep must be ≥ 1");
        if (iteration != null && iteration < 0) throw new IllegalArgumentException("--iteration must be ≥ 0");
        optimizer = optimizer == null ? OptimizerChoice.FULLY_RESHARDABLE : optimizer;
    }

    public static ReshardOptions of(Path source, Path outputDir) {
        return new ReshardOptions(source, outputDir, null, null, null, null, null, false, true, true);
    }

    public ReshardOptions withLayout(Integer tp, Integer pp) {
        return new ReshardOptions(source, outputDir, tp, pp, ep, optimizer, iteration, force, verifyRecords, fsync);
    }

    public ReshardOptions withOptimizer(OptimizerChoice o) {
        return new ReshardOptions(source, outputDir, tp, pp, ep, o, iteration, force, verifyRecords, fsync);
    }

    public ReshardOptions withIteration(Long it) {
        return new ReshardOptions(source, outputDir, tp, pp, ep, optimizer, it, force, verifyRecords, fsync);
    }

    public ReshardOptions withForce(boolean f) {
        return new ReshardOptions(source, outputDir, tp, pp, ep, optimizer, iteration, f, verifyRecords, fsync);
    }

    public ReshardOptions withFsync(boolean f) {
        return new ReshardOptions(source, outputDir, tp, pp, ep, optimizer, iteration, force, verifyRecords, f);
    }
}
