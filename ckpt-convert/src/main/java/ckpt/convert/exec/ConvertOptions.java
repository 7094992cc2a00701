package ckpt.convert.exec;

import ckpt.convert.plan.DtypeChoice;
import ckpt.convert.plan.KeyFilter;
import ckpt.format.safetensors.HfShardPlanner;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One {@code ckpt convert} run.
 *
 * @param arch            {@code auto} or a family name (huggingface only)
 * @param tokenizerDir    where to copy tokenizer files from; null = the checkpoint's own tokenizer dir if any
 * @param force           replace an existing output directory
 * @param keys            {@code --include}/{@code --exclude} (pytorch and safetensors)
 */
public record ConvertOptions(Path checkpoint, OutputFormat format, Path outputDir, DtypeChoice dtype, String arch,
                             long maxShardSize, boolean keepPaddedVocab, Path tokenizerDir, boolean force, KeyFilter keys) {
    public ConvertOptions {
        Objects.requireNonNull(checkpoint, "checkpoint");
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(outputDir, "outputDir");
        dtype = dtype == null ? DtypeChoice.KEEP : dtype;
        arch = arch == null ? "auto" : arch;
        keys = keys == null ? KeyFilter.NONE : keys;
        if (maxShardSize <= 0) throw new IllegalArgumentException("--max-shard-size must be positive");
        if (format == OutputFormat.HUGGINGFACE && !keys.isEmpty())
            throw new IllegalArgumentException("--include/--exclude choose tensors for --format pytorch or safetensors; "
                    + "huggingface writes what the architecture mapping needs");
    }

    public ConvertOptions(Path checkpoint, OutputFormat format, Path outputDir, DtypeChoice dtype, String arch,
                          long maxShardSize, boolean keepPaddedVocab, Path tokenizerDir, boolean force) {
        this(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, tokenizerDir, force, KeyFilter.NONE);
    }

    public static ConvertOptions of(Path checkpoint, OutputFormat format, Path outputDir) {
        return new ConvertOptions(checkpoint, format, outputDir, DtypeChoice.KEEP, "auto", HfShardPlanner.DEFAULT_MAX_SHARD_SIZE, false, null, false);
    }

    public ConvertOptions withDtype(DtypeChoice d) {
        return new ConvertOptions(checkpoint, format, outputDir, d, arch, maxShardSize, keepPaddedVocab, tokenizerDir, force, keys);
    }

    public ConvertOptions withForce(boolean f) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, tokenizerDir, f, keys);
    }

    public ConvertOptions withArch(String a) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, a, maxShardSize, keepPaddedVocab, tokenizerDir, force, keys);
    }

    public ConvertOptions withMaxShardSize(long m) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, m, keepPaddedVocab, tokenizerDir, force, keys);
    }

    public ConvertOptions withKeepPaddedVocab(boolean k) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, maxShardSize, k, tokenizerDir, force, keys);
    }

    public ConvertOptions withTokenizerDir(Path t) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, t, force, keys);
    }

    public ConvertOptions withKeys(KeyFilter k) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, tokenizerDir, force, k);
    }
}
