package ckpt.convert.exec;

import ckpt.convert.plan.DtypeChoice;
import ckpt.format.safetensors.HfShardPlanner;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One {@code ckpt convert} run.
 *
 * @param arch            {@code auto} or a family name (huggingface only)
 * @param tokenizerDir    where to copy tokenizer files from; null = the checkpoint's own tokenizer dir if any
 * @param force           replace an existing output directory
 * @param verifyRecords   check every source record's stored CRC-32 before its bytes are used ({@code --no-verify} off)
 */
public record ConvertOptions(Path checkpoint, OutputFormat format, Path outputDir, DtypeChoice dtype, String arch,
                             long maxShardSize, boolean keepPaddedVocab, Path tokenizerDir, boolean force,
                             boolean verifyRecords) {
    /** Records verified: the default. */
    public ConvertOptions(Path checkpoint, OutputFormat format, Path outputDir, DtypeChoice dtype, String arch,
                          long maxShardSize, boolean keepPaddedVocab, Path tokenizerDir, boolean force) {
        this(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, tokenizerDir, force, true);
    }

    public ConvertOptions {
        Objects.requireNonNull(checkpoint, "checkpoint");
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(outputDir, "outputDir");
        dtype = dtype == null ? DtypeChoice.KEEP : dtype;
        arch = arch == null ? "auto" : arch;
        if (maxShardSize <= 0) throw new IllegalArgumentException("--max-shard-size must be positive");
    }

    public static ConvertOptions of(Path checkpoint, OutputFormat format, Path outputDir) {
        return new ConvertOptions(checkpoint, format, outputDir, DtypeChoice.KEEP, "auto", HfShardPlanner.DEFAULT_MAX_SHARD_SIZE, false, null, false);
    }

    public ConvertOptions withDtype(DtypeChoice d) {
        return new ConvertOptions(checkpoint, format, outputDir, d, arch, maxShardSize, keepPaddedVocab, tokenizerDir, force, verifyRecords);
    }

    public ConvertOptions withForce(boolean f) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, tokenizerDir, f, verifyRecords);
    }

    public ConvertOptions withArch(String a) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, a, maxShardSize, keepPaddedVocab, tokenizerDir, force, verifyRecords);
    }

    public ConvertOptions withMaxShardSize(long m) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, m, keepPaddedVocab, tokenizerDir, force, verifyRecords);
    }

    public ConvertOptions withKeepPaddedVocab(boolean k) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, maxShardSize, k, tokenizerDir, force, verifyRecords);
    }

    public ConvertOptions withVerifyRecords(boolean v) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, tokenizerDir, force, v);
    }

    public ConvertOptions withTokenizerDir(Path t) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, t, force, verifyRecords);
    }
}
