package ckpt.convert.exec;

import ckpt.convert.mapping.imports.MegatronArgs;
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
 * @param configDir       where the HF {@code config.json} of a DeepSpeed-trained HF model is; null = beside the checkpoint
 * @param parallel        target TP × PP × EP layout of {@code --format megatron}
 * @param keys            {@code --include}/{@code --exclude} (pytorch and safetensors)
 * @param verifyRecords   check every source record's stored CRC-32 before its bytes are used ({@code --no-verify} off)
 * @param fsync           force the output to storage before it is published ({@code --no-fsync} off: the atomic
 *                        rename stays, survival of a power loss does not)
 */
public record ConvertOptions(Path checkpoint, OutputFormat format, Path outputDir, DtypeChoice dtype, String arch,
                             long maxShardSize, boolean keepPaddedVocab, Path tokenizerDir, boolean force, Path configDir,
                             MegatronArgs.Parallel parallel, KeyFilter keys, boolean verifyRecords, boolean fsync) {
    /** Output forced to storage: the default. */
    public ConvertOptions(Path checkpoint, OutputFormat format, Path outputDir, DtypeChoice dtype, String arch,
                          long maxShardSize, boolean keepPaddedVocab, Path tokenizerDir, boolean force, Path configDir,
                          MegatronArgs.Parallel parallel, KeyFilter keys, boolean verifyRecords) {
        this(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, tokenizerDir, force, configDir, parallel, keys, verifyRecords, true);
    }

    /** Records verified: the default. */
    public ConvertOptions(Path checkpoint, OutputFormat format, Path outputDir, DtypeChoice dtype, String arch,
                          long maxShardSize, boolean keepPaddedVocab, Path tokenizerDir, boolean force, Path configDir,
                          MegatronArgs.Parallel parallel, KeyFilter keys) {
        this(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, tokenizerDir, force, configDir, parallel, keys, true);
    }

    public ConvertOptions {
        Objects.requireNonNull(checkpoint, "checkpoint");
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(outputDir, "outputDir");
        dtype = dtype == null ? DtypeChoice.KEEP : dtype;
        arch = arch == null ? "auto" : arch;
        if (maxShardSize <= 0) throw new IllegalArgumentException("--max-shard-size must be positive");
        parallel = parallel == null ? new MegatronArgs.Parallel(1, 1, 1) : parallel;
        if (parallel.tp() < 1 || parallel.pp() < 1 || parallel.ep() < 1) throw new IllegalArgumentException("--tp, --pp and --ep must be ≥ 1");
        keys = keys == null ? KeyFilter.NONE : keys;
        if ((format == OutputFormat.HUGGINGFACE || format == OutputFormat.MEGATRON) && !keys.isEmpty())
            throw new IllegalArgumentException("--include/--exclude choose tensors for --format pytorch or safetensors; "
                    + format.id() + " writes what the architecture mapping needs");
    }

    public ConvertOptions(Path checkpoint, OutputFormat format, Path outputDir, DtypeChoice dtype, String arch,
                          long maxShardSize, boolean keepPaddedVocab, Path tokenizerDir, boolean force, Path configDir,
                          MegatronArgs.Parallel parallel) {
        this(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, tokenizerDir, force, configDir, parallel, null);
    }

    public ConvertOptions(Path checkpoint, OutputFormat format, Path outputDir, DtypeChoice dtype, String arch,
                          long maxShardSize, boolean keepPaddedVocab, Path tokenizerDir, boolean force, Path configDir) {
        this(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, tokenizerDir, force, configDir, null, null);
    }

    public static ConvertOptions of(Path checkpoint, OutputFormat format, Path outputDir) {
        return new ConvertOptions(checkpoint, format, outputDir, DtypeChoice.KEEP, "auto", HfShardPlanner.DEFAULT_MAX_SHARD_SIZE, false, null, false, null, null, null);
    }

    public ConvertOptions withParallel(MegatronArgs.Parallel p) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, tokenizerDir, force, configDir, p, keys, verifyRecords, fsync);
    }

    public ConvertOptions withDtype(DtypeChoice d) {
        return new ConvertOptions(checkpoint, format, outputDir, d, arch, maxShardSize, keepPaddedVocab, tokenizerDir, force, configDir, parallel, keys, verifyRecords, fsync);
    }

    public ConvertOptions withForce(boolean f) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, tokenizerDir, f, configDir, parallel, keys, verifyRecords, fsync);
    }

    public ConvertOptions withArch(String a) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, a, maxShardSize, keepPaddedVocab, tokenizerDir, force, configDir, parallel, keys, verifyRecords, fsync);
    }

    public ConvertOptions withMaxShardSize(long m) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, m, keepPaddedVocab, tokenizerDir, force, configDir, parallel, keys, verifyRecords, fsync);
    }

    public ConvertOptions withKeepPaddedVocab(boolean k) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, maxShardSize, k, tokenizerDir, force, configDir, parallel, keys, verifyRecords, fsync);
    }

    public ConvertOptions withConfigDir(Path c) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, tokenizerDir, force, c, parallel, keys, verifyRecords, fsync);
    }

    public ConvertOptions withTokenizerDir(Path t) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, t, force, configDir, parallel, keys, verifyRecords, fsync);
    }

    public ConvertOptions withKeys(KeyFilter k) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, tokenizerDir, force, configDir, parallel, k, verifyRecords, fsync);
    }

    public ConvertOptions withVerifyRecords(boolean v) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, tokenizerDir, force, configDir, parallel, keys, v, fsync);
    }

    public ConvertOptions withFsync(boolean f) {
        return new ConvertOptions(checkpoint, format, outputDir, dtype, arch, maxShardSize, keepPaddedVocab, tokenizerDir, force, configDir, parallel, keys, verifyRecords, f);
    }
}
