package ckpt.convert.analysis;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.FileEntry;
import ckpt.convert.index.GlobalTensor;
import ckpt.format.megatron.ParallelLayout;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How the saving job was parallelised, as inspect shows it: from the args when readable, else only what the files
 * reveal (the writer ranks in {@code __<rank>_<n>.distcp} names, the distributed optimizer's keys); null otherwise.
 */
public record ParallelSummary(String source, Long tensorParallel, Long pipelineParallel, Long dataParallel,
                              Long expertParallel, Long contextParallel, Long virtualPipeline, Long worldSize,
                              Boolean distributedOptimizer, String optimizerFormat) {
    public static final String SOURCE_FILES = "inferred from file names and keys";
    private static final Pattern DISTCP = Pattern.compile("__(\\d{1,18})_\\d+\\.distcp");

    public static Optional<ParallelSummary> of(CheckpointIndex index) {
        ParallelLayout p = index.parallelism();
        Object fmt = index.details().get("optimizer_format");
        String optimizerFormat = fmt instanceof String s ? s : p == null ? null : p.optimizerFormat();
        if (p != null && !index.args().isEmpty()) {
            return Optional.of(new ParallelSummary(ModelSummary.SOURCE_ARGS, p.tensorParallel(), p.pipelineParallel(),
                    p.dataParallel(), p.expertParallel(), p.contextParallel(), p.virtualPipeline(), p.worldSize(),
                    p.distributedOptimizer(), optimizerFormat));
        }
        // DCP writes one file set per rank (every rank saves), so the highest rank + 1 is the world size.
        long highest = -1;   // no rank file
        Matcher m = DISTCP.matcher("");
        for (FileEntry f : index.files()) {
            if (m.reset(f.name()).matches()) highest = Math.max(highest, Long.parseLong(m.group(1)));
        }
        boolean distOpt = index.tensors().stream().map(GlobalTensor::key).anyMatch(k -> k.contains("optimizer.distributed."));
        if (highest < 0 && !distOpt && optimizerFormat == null) return Optional.empty();
        Long world = highest < 0 ? null : highest + 1;
        return Optional.of(new ParallelSummary(SOURCE_FILES, null, null, null, null, null, null, world,
                distOpt ? Boolean.TRUE : null, optimizerFormat));
    }
}
