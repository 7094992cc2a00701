package ckpt.convert.reshard;

import ckpt.convert.exec.ConversionListener;
import ckpt.convert.exec.Converter;
import ckpt.convert.exec.InputCheck;
import ckpt.convert.exec.MegatronSaveOutput;
import ckpt.convert.exec.OutputDirGuard;
import ckpt.convert.exec.PlanExecutor;
import ckpt.convert.exec.StagingDir;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.index.LegacyIndexer;
import ckpt.format.FormatException;
import ckpt.format.megatron.SaveDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * {@code ckpt reshard}: source (torch_dist: {@link TorchDistSource}; legacy {@code mp_rank_*}: {@link LegacySource}) →
 * {@link ReshardInput} → {@link ReshardPlan} for the target layout → a Megatron
 * {@code torch_dist} save dir written through {@link MegatronSaveOutput} into a staging directory and renamed into place.
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

    public ReshardResult reshard(ReshardOptions o, ConversionListener listener) throws IOException {
        OutputDirGuard.check(o.source(), o.outputDir(), o.force());
        StagingDir.checkTarget(o.outputDir(), o.force());
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
                return write(LegacySource.read(legacy), o, listener);
            }
        }
        try (index) {
            return write(TorchDistSource.read(index, o.optimizer()), o, listener);
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
     * Writes a source read by any reader (dp_reshardable buckets, legacy {@code distrib_optim.pt}, …); the caller
     * closes what it opened. The output-dir rules are checked here too, so every reader's output obeys them.
     */
    public ReshardResult write(ReshardInput src, ReshardOptions o, ConversionListener listener) throws IOException {
        long start = System.nanoTime();
        OutputDirGuard.check(o.source(), o.outputDir(), o.force());
        if (o.ep() != null && o.ep() > 1)
            throw new FormatException(src.path(), "--ep " + o.ep() + " needs a mixture-of-experts model; this one is dense");
        int tp = o.tp() == null ? src.layout().tp() : o.tp();
        int pp = o.pp() == null ? src.layout().pp() : o.pp();
        ReshardPlan plan = ReshardPlan.of(src, tp, pp);
        try (StagingDir staging = StagingDir.create(o.outputDir(), o.force())) {
            listener.planned(plan.plan());
            Converter.requireSpace(staging.dir(), plan.plan().totalBytes(), Files.getFileStore(staging.dir()).getUsableSpace());
            List<String> files;
            MegatronSaveOutput.Layout layout = new MegatronSaveOutput.Layout(src.iteration(), src.tracker(), src.metadataJson(), src.commonPt());
            try (MegatronSaveOutput writer = new MegatronSaveOutput(staging.dir(), layout, src.common(), plan.items())) {
                executor.execute(plan.plan(), writer, listener);
                files = writer.finish();
            } catch (InternalError e) {
                throw new IOException("writing " + staging.dir() + " failed: the file system could not store a mapped "
                        + "region (disk full or I/O error?): " + e.getMessage(), e);
            }
            staging.commit();
            return new ReshardResult(staging.target(), src.iteration(), src.iterationNumber(), src.layout(),
                    new ReshardInput.Layout(tp, pp), src.sourceOptimizer(), src.optimizer().isEmpty() ? null : "fully_reshardable",
                    plan.modelTensors(), plan.optimizerTensors(), plan.plan().tensors().size(), plan.plan().totalBytes(),
                    files.stream().sorted().toList(), Duration.ofNanos(System.nanoTime() - start));
        }
    }
}
