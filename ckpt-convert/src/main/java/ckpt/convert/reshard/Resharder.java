package ckpt.convert.reshard;

import ckpt.convert.exec.ConversionListener;
import ckpt.convert.exec.Converter;
import ckpt.convert.exec.InputCheck;
import ckpt.convert.exec.MegatronOutput;
import ckpt.convert.exec.MegatronSave;
import ckpt.convert.exec.OutputDirGuard;
import ckpt.convert.exec.PartRun;
import ckpt.convert.exec.PartWriter;
import ckpt.convert.exec.PlanExecutor;
import ckpt.convert.exec.Share;
import ckpt.convert.exec.StagingDir;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.index.LegacyIndexer;
import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.PartSpec;
import ckpt.format.FormatException;
import ckpt.format.Writeback;
import ckpt.format.megatron.SaveDir;
import ckpt.format.torchsave.TorchSaveWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * {@code ckpt reshard}: source (torch_dist: {@link TorchDistSource}; legacy {@code mp_rank_*}: {@link LegacySource}) →
 * {@link ReshardInput} → {@link ReshardPlan} for the target layout → a Megatron {@code torch_dist} save
 * ({@link MegatronSave}) written through the positioned {@link MegatronOutput} — by one process into a staging
 * directory renamed into place, or by the tasks of a job array ({@link #part}, then {@link #finish}; {@link PartRun}).
 * Other source readers hand their {@link ReshardInput} to {@link #write}.
 */
public final class Resharder {
    private final PlanExecutor executor;

    public Resharder() {
        this(new PlanExecutor());
    }

    public Resharder(PlanExecutor executor) {
        this.executor = executor;
    }

    /**
     * What is done with an opened source; {@code release} unmaps the source records read so far (run by the workers
     * after each piece, as convert does), so the resident set stays bounded by the pieces in flight, not the save.
     */
    @FunctionalInterface
    private interface Step {
        ReshardResult run(ReshardInput src, Runnable release) throws IOException;
    }

    public ReshardResult reshard(ReshardOptions o, ConversionListener listener) throws IOException {
        OutputDirGuard.check(o.source(), o.outputDir(), o.force());
        StagingDir.checkTarget(o.outputDir(), o.force());
        return withSource(o, (src, release) -> write(src, o, listener, release));
    }

    /** Writes part {@code p} of the reshard into the shared staging dir {@code DIR.parts}; safe to re-run. */
    public ReshardResult part(ReshardOptions o, PartSpec p, ConversionListener listener) throws IOException {
        OutputDirGuard.checkParts(o.source(), o.outputDir(), o.force());
        StagingDir.checkTarget(o.outputDir(), o.force());
        return withSource(o, (src, release) -> {
            long start = System.nanoTime();
            Job job = job(src, o);
            PartRun.Written w = PartRun.part(job.output(), o.outputDir(), p, executor, listener, release);
            return job.result(w.staging(), w.plan(), w.files(), start);
        });
    }

    /**
     * After every part: checks each one (present, complete, of this plan, CRC-32s read back unless
     * {@code --no-verify}), writes {@code .metadata}, {@code metadata.json}, {@code common.pt} and the tracker, and
     * publishes the save dir atomically.
     */
    public ReshardResult finish(ReshardOptions o, ConversionListener listener) throws IOException {
        OutputDirGuard.checkParts(o.source(), o.outputDir(), o.force());
        StagingDir.checkTarget(o.outputDir(), o.force());
        return withSource(o, (src, release) -> {
            long start = System.nanoTime();
            Job job = job(src, o);
            List<String> files = PartRun.finish(job.output(), o.outputDir(), o.verifyRecords(), executor, listener);
            return job.result(o.outputDir().toAbsolutePath().normalize(), job.plan().plan(), files, start);
        });
    }

    /** Opens the source, checks it, reads it as a {@link ReshardInput} and runs {@code step} on it. */
    private static ReshardResult withSource(ReshardOptions o, Step step) throws IOException {
        CheckpointIndex index = Checkpoints.open(iterationPath(o));
        try {
            InputCheck.requireDataFiles(index);
            index.checkRecords(o.verifyRecords());
        } catch (RuntimeException e) {
            index.close();
            throw e;
        }
        if (LegacyIndexer.iteration(index).isPresent()) {
            try (ReshardSource legacy = LegacySource.open(index, o.optimizer())) { // owns the index from here
                return step.run(LegacySource.read(legacy), index::releaseMappings);
            }
        }
        try (index) {
            return step.run(TorchDistSource.read(index, o.optimizer()), index::releaseMappings);
        }
    }

    /** The directory to open: {@code --iteration N} picks {@code iter_000000N} of a save dir. */
    static Path iterationPath(ReshardOptions o) {
        if (o.iteration() == null) return o.source();
        if (!SaveDir.looksLikeSaveDir(o.source()))
            throw new FormatException(o.source(), "--iteration picks an iteration of a Megatron save dir; this is not one");
        Path it = o.source().resolve(String.format("iter_%07d", o.iteration()));
        if (!Files.isDirectory(it)) throw new FormatException(it, "no such iteration directory");
        return it;
    }

    /**
     * Writes a source read by any reader (dp_reshardable buckets, legacy {@code distrib_optim.pt}, …) in one process;
     * the caller closes what it opened. The output-dir rules are checked here too, so every reader's output obeys them.
     */
    public ReshardResult write(ReshardInput src, ReshardOptions o, ConversionListener listener) throws IOException {
        return write(src, o, listener, () -> { });
    }

    /** As {@link #write(ReshardInput, ReshardOptions, ConversionListener)}, unmapping source records with {@code release}. */
    private ReshardResult write(ReshardInput src, ReshardOptions o, ConversionListener listener, Runnable release) throws IOException {
        long start = System.nanoTime();
        OutputDirGuard.check(o.source(), o.outputDir(), o.force());
        Job job = job(src, o);
        ConversionPlan plan = job.plan().plan();
        try (StagingDir staging = StagingDir.create(o.outputDir(), o.force())) {
            listener.planned(plan);
            Converter.requireSpace(staging.dir(), plan.totalBytes(), Files.getFileStore(staging.dir()).getUsableSpace());
            List<String> files;
            Writeback forces = Writeback.forOutput(o.fsync()); // --no-fsync: the same writer, no force
            try (MegatronOutput writer = new MegatronOutput(staging.dir(), job.save(), Share.WHOLE, staging.target(), forces)) {
                executor.execute(plan, writer, listener, release);
                files = writer.finish();
            } catch (InternalError e) {
                throw new IOException("writing " + staging.dir() + " failed: the file system could not store a mapped "
                        + "region (disk full or I/O error?): " + e.getMessage(), e);
            }
            staging.commit(forces);
            return job.result(staging.target(), plan, files, start);
        }
    }

    /**
     * One reshard, planned: the chunks of the target layout, the save they make, and its fingerprint (what every task
     * of a parted run must agree on).
     */
    private record Job(ReshardInput src, ReshardPlan plan, MegatronSave save, String fingerprint, boolean durable) {
        PartRun.Output output() {
            return new PartRun.Output() {
                @Override
                public String format() {
                    return "megatron-reshard";
                }

                @Override
                public String fingerprint() {
                    return fingerprint;
                }

                @Override
                public ConversionPlan plan() {
                    return plan.plan();
                }

                @Override
                public List<PartRun.Unit> units() {
                    return MegatronOutput.units(save);
                }

                @Override
                public PartWriter writer(Path dir, Path target, Share share) throws IOException {
                    return new MegatronOutput(dir, save, share, target, Writeback.forOutput(durable));
                }

                @Override
                public boolean durable() {
                    return durable;
                }
            };
        }

        ReshardResult result(Path output, ConversionPlan written, List<String> files, long start) {
            return new ReshardResult(output, src.iteration(), src.iterationNumber(), src.layout(),
                    new ReshardInput.Layout(plan.tp(), plan.pp()), src.sourceOptimizer(),
                    src.optimizer().isEmpty() ? null : "fully_reshardable", plan.modelTensors(), plan.optimizerTensors(),
                    written.tensors().size(), written.totalBytes(), files.stream().sorted().toList(),
                    Duration.ofNanos(System.nanoTime() - start));
        }
    }

    private static Job job(ReshardInput src, ReshardOptions o) throws IOException {
        if (o.ep() != null && o.ep() > 1)
            throw new FormatException(src.path(), "--ep " + o.ep() + " needs a mixture-of-experts model; this one is dense");
        int tp = o.tp() == null ? src.layout().tp() : o.tp();
        int pp = o.pp() == null ? src.layout().pp() : o.pp();
        ReshardPlan plan = ReshardPlan.of(src, tp, pp);
        // torch writes a rank's bytes items before its tensors; the common state comes first, in a one-item list
        List<MegatronSave.RawItem> items = new ArrayList<>();
        byte[] commonPt = null;
        if (src.commonPt()) commonPt = TorchSaveWriter.objectArchive(src.common());
        else items.add(new MegatronSave.RawItem("common_state/shard_0_1", 0, TorchSaveWriter.objectArchive(List.of(src.common()))));
        items.addAll(plan.items());

        StringBuilder d = new StringBuilder("reshard\n");
        d.append(src.path().toAbsolutePath().normalize()).append('\n').append(src.iteration()).append(' ').append(src.tracker())
                .append('\n').append(tp).append(' ').append(pp).append(' ').append(o.optimizer()).append('\n')
                .append("metadata.json ").append(sha256(src.metadataJson())).append('\n')
                .append("common.pt ").append(commonPt == null ? "-" : sha256(commonPt)).append('\n');
        for (MegatronSave.RawItem it : items) d.append(it.key()).append(" @").append(it.rank()).append(' ').append(sha256(it.payload())).append('\n');
        for (OutputTensor t : plan.plan().tensors()) d.append(PartRun.describe(t)).append('\n');
        String fingerprint = PartRun.fingerprint(d);
        MegatronSave save = new MegatronSave(src.iteration(), src.tracker(), src.metadataJson(), commonPt, items, plan.plan(),
                MegatronOutput.saveId("ckpt reshard " + fingerprint));
        return new Job(src, plan, save, fingerprint, o.fsync());
    }

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
