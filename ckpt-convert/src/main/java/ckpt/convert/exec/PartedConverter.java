package ckpt.convert.exec;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.PartSpec;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/**
 * {@code ckpt convert --part I/N} and {@code --finish}: one conversion divided among the tasks of a job array
 * ({@link PartRun}). The units are whole output files where the format has many (HF shards), tensor records of the
 * one file otherwise ({@code model.pt}, whose layout is fixed up front), and the items of the rank files of a Megatron
 * save.
 */
public final class PartedConverter {
    private final PlanExecutor executor;

    public PartedConverter() {
        this(new PlanExecutor());
    }

    public PartedConverter(PlanExecutor executor) {
        this.executor = executor;
    }

    /** The conversion as the part machinery sees it. */
    private static PartRun.Output output(CheckpointIndex index, ConvertOptions o, Converter.Planned p, List<String> warnings) {
        String fingerprint = fingerprint(index, o, p);
        return new PartRun.Output() {
            @Override
            public String format() {
                return o.format().id();
            }

            @Override
            public String fingerprint() {
                return fingerprint;
            }

            @Override
            public ConversionPlan plan() {
                return p.plan();
            }

            @Override
            public List<PartRun.Unit> units() throws IOException {
                return PartedConverter.units(o, p, fingerprint);
            }

            @Override
            public PartWriter writer(Path dir, Path target, Share share) throws IOException {
                return Converter.writer(index, o, p, dir, target, warnings, share, ckpt.format.Writeback.forOutput(o.fsync()));
            }

            @Override
            public boolean durable() {
                return o.fsync();
            }
        };
    }

    static List<PartRun.Unit> units(ConvertOptions o, Converter.Planned p, String fingerprint) throws IOException {
        ConversionPlan plan = p.plan();
        return switch (o.format()) {
            case PYTORCH -> plan.tensors().stream().map(t -> new PartRun.Unit(t.name(), List.of(t.name()), t.byteSize())).toList();
            case HUGGINGFACE, SAFETENSORS -> SafetensorsTarget.shardFiles(plan, o.maxShardSize()).stream()
                    .map(s -> new PartRun.Unit(s.name(), s.tensors(), s.bytes())).toList();
            case MEGATRON -> MegatronOutput.units(MegatronOutput.save(p.megatron(), fingerprint));
        };
    }

    public ConvertResult part(ConvertOptions o, PartSpec p, ConversionListener listener) throws IOException {
        OutputDirGuard.checkParts(o.checkpoint(), o.outputDir(), o.force());
        StagingDir.checkTarget(o.outputDir(), o.force());
        try (CheckpointIndex index = Checkpoints.open(o.checkpoint())) {
            return part(index, o, p, listener);
        }
    }

    /** Writes part {@code p} into the staging dir; safe to re-run (its marker goes first, its units are rewritten). */
    public ConvertResult part(CheckpointIndex index, ConvertOptions o, PartSpec p, ConversionListener listener) throws IOException {
        long start = System.nanoTime();
        OutputDirGuard.checkParts(o.checkpoint(), o.outputDir(), o.force());
        StagingDir.checkTarget(o.outputDir(), o.force());
        Converter.Planned planned = Converter.plan(index, o);
        List<String> warnings = new ArrayList<>();
        PartRun.Written w = PartRun.part(output(index, o, planned, warnings), o.outputDir(), p, executor, listener, index::releaseMappings);
        ConversionPlan sub = w.plan();
        return new ConvertResult(w.staging(), o.format(), index.format().jsonName(), index.iteration(),
                planned.family() == null ? null : planned.family().architecture(), sub.tensors().size(), sub.totalBytes(),
                sub.totalElements(), w.files(), Duration.ofNanos(System.nanoTime() - start), warnings, List.of());
    }

    public ConvertResult finish(ConvertOptions o, ConversionListener listener) throws IOException {
        OutputDirGuard.checkParts(o.checkpoint(), o.outputDir(), o.force());
        StagingDir.checkTarget(o.outputDir(), o.force());
        try (CheckpointIndex index = Checkpoints.open(o.checkpoint())) {
            return finish(index, o, listener);
        }
    }

    /** Checks every part and publishes the output ({@link PartRun#finish}); {@code --no-verify} skips the CRC re-read. */
    public ConvertResult finish(CheckpointIndex index, ConvertOptions o, ConversionListener listener) throws IOException {
        long start = System.nanoTime();
        OutputDirGuard.checkParts(o.checkpoint(), o.outputDir(), o.force());
        StagingDir.checkTarget(o.outputDir(), o.force());
        Converter.Planned planned = Converter.plan(index, o);
        List<String> warnings = new ArrayList<>();
        List<String> files = PartRun.finish(output(index, o, planned, warnings), o.outputDir(), o.verifyRecords(), executor, listener);
        ConversionPlan plan = planned.plan();
        return new ConvertResult(PartStaging.of(o.outputDir()).target(), o.format(), index.format().jsonName(), index.iteration(),
                planned.family() == null ? null : planned.family().architecture(), plan.tensors().size(), plan.totalBytes(),
                plan.totalElements(), files, Duration.ofNanos(System.nanoTime() - start), warnings,
                planned.megatron() == null ? List.of() : planned.megatron().flags());
    }

    /**
     * Everything that decides the output's bytes and layout: the source (path, format, iteration), the format and
     * options, every planned tensor (name, dtype, shape, source dtype, chunk) and the configs. Tasks that agree on it
     * write compatible parts.
     */
    static String fingerprint(CheckpointIndex index, ConvertOptions o, Converter.Planned p) {
        StringBuilder sb = new StringBuilder();
        sb.append(index.path().toAbsolutePath().normalize()).append('\n').append(index.format().jsonName()).append('\n')
                .append(index.iteration()).append('\n');
        sb.append(o.format().id()).append(' ').append(o.dtype()).append(' ').append(o.arch()).append(' ')
                .append(o.maxShardSize()).append(' ').append(o.keepPaddedVocab()).append(' ')
                .append(o.tokenizerDir() == null ? "-" : o.tokenizerDir().toAbsolutePath().normalize()).append(' ')
                .append(o.configDir() == null ? "-" : o.configDir().toAbsolutePath().normalize()).append(' ')
                .append(o.parallel()).append('\n');
        if (p.modelConfig() != null) sb.append(new TreeMap<>(p.modelConfig())).append('\n');
        if (p.family() != null) sb.append(p.family().architecture()).append(' ').append(new TreeMap<>(p.family().config(p.context()))).append('\n');
        for (OutputTensor t : p.plan().tensors()) sb.append(PartRun.describe(t)).append('\n');
        return PartRun.fingerprint(sb);
    }

    /** For tests and scripts: the staging dir a conversion into {@code outputDir} uses. */
    public static Path stagingDir(Path outputDir) {
        return PartRun.stagingDir(outputDir);
    }

    /** The number of parts the staging dir of {@code outputDir} was started with, if any. */
    public static Optional<Integer> partsStarted(Path outputDir) throws IOException {
        return PartRun.partsStarted(outputDir);
    }
}
