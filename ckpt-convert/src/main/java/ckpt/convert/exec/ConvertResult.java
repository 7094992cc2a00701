package ckpt.convert.exec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What a conversion wrote.
 *
 * @param architecture HF architecture written, or null for {@code --format pytorch}
 * @param files        names of the files in {@code outputDir}
 * @param megatronFlags for {@code --format megatron}: the Megatron flags describing the written model (else empty)
 */
public record ConvertResult(Path outputDir, OutputFormat format, String sourceFormat, Long iteration, String architecture,
                            int tensors, long bytes, long parameters, List<String> files, Duration elapsed,
                            List<String> warnings, List<String> megatronFlags) {
    public ConvertResult {
        megatronFlags = List.copyOf(megatronFlags);
        files = List.copyOf(files);
        warnings = List.copyOf(warnings);
    }
}
