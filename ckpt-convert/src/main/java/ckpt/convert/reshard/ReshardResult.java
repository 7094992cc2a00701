package ckpt.convert.reshard;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What a reshard wrote.
 *
 * @param sourceOptimizer the source's optimizer format (null: none)
 * @param optimizer       the output's ({@code fully_reshardable}) or null when none was written
 */
public record ReshardResult(Path output, String iteration, Long iterationNumber, ReshardInput.Layout source,
                            ReshardInput.Layout target, String sourceOptimizer, String optimizer, int modelTensors,
                            int optimizerTensors, int chunks, long bytes, List<String> files, Duration elapsed) {
    public ReshardResult {
        files = List.copyOf(files);
    }
}
