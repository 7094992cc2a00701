package ckpt.cli;

import ckpt.convert.analysis.Units;
import ckpt.convert.exec.ConversionListener;
import ckpt.convert.exec.PlanExecutor;
import ckpt.convert.reshard.OptimizerChoice;
import ckpt.convert.reshard.ReshardOptions;
import ckpt.convert.reshard.ReshardResult;
import ckpt.convert.reshard.Resharder;
import ckpt.convert.plan.PartSpec;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code ckpt reshard SRC --output-dir DST [--tp N] [--pp N] [--optimizer fully_reshardable|drop] [--engine E]}: a
 * Megatron training checkpoint (torch_dist, or legacy {@code --ckpt-format torch}) written as torch_dist for another
 * layout, its distributed-optimizer state turned into the per-parameter {@code fully_reshardable} form so the run
 * resumes at any TP/PP/DP.
 */
@Command(name = "reshard",
        mixinStandardHelpOptions = true,
        description = {"Re-chunk a Megatron training checkpoint (torch_dist, or legacy --ckpt-format torch mp_rank_* dirs "
                + "with distrib_optim.pt) into a torch_dist save for another tensor/pipeline-parallel layout, "
                + "model and optimizer state. A dp_reshardable distributed-optimizer state (Megatron's default, which resumes "
                + "only at the saved TP/PP) becomes fully_reshardable per-parameter state (optimizer.state.{param,exp_avg,"
                + "exp_avg_sq}.<model key>, fp32, the model key's global shape), which Megatron loads at any TP/PP/DP; step, "
                + "param groups, LR scheduler, iteration and args are kept (from a legacy source the per-rank RNG state is "
                + "not carried over: its args say no_save_rng). The output is a save dir (tracker + the source's "
                + "iter_* dir) that Megatron resumes with --load DIR; it appears under its name only when complete. "
                + "Dense GPT models (local or Transformer Engine spec); MoE, virtual pipelines and multiple gradient buffers are refused. "
                + "With --part I/N and then --finish, the tasks of a job array divide the work (docs/SLURM.md); the result is "
                + "byte-identical to one process."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:resharded (or, with --part, the part written)",
                "1:bad or unsupported input (one line names the file and the problem), the output directory exists (see --force), "
                        + "or --finish found a part missing, incomplete, damaged or of another plan, or another --finish at work (nothing published)",
                "2:usage error"})
final class ReshardCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SRC", description = "a Megatron torch_dist or legacy torch save dir (the tracker's iteration, or --iteration) or iter_* dir")
    Path source;

    @Option(names = "--output-dir", required = true, paramLabel = "DIR", description = "save dir to create")
    Path outputDir;

    @Option(names = "--tp", paramLabel = "N", description = "target tensor-parallel size (default: the source's)")
    Integer tp;

    @Option(names = "--pp", paramLabel = "N", description = "target pipeline-parallel size (default: the source's)")
    Integer pp;

    @Option(names = "--ep", paramLabel = "N", description = "target expert-parallel size (MoE models only; default 1)")
    Integer ep;

    @Option(names = "--optimizer", paramLabel = "MODE",
            description = "fully_reshardable (default: keep the optimizer state, per parameter) or drop (model only; the args then say no_save_optim)")
    String optimizer;

    @Option(names = "--iteration", paramLabel = "N", description = "reshard iter_N of the save dir instead of the tracker's")
    Long iteration;

    @CommandLine.Mixin
    ThreadsOption threads = new ThreadsOption();

    @Option(names = "--force", description = "replace an existing output directory (only one ckpt wrote, or an empty one)")
    boolean force;

    @Option(names = "--no-verify", description = "skip the CRC-32 check of every source record; with --finish, skip reading the "
            + "parts' bytes back against their recorded CRC-32s (sizes are still checked)")
    boolean noVerify;

    @Option(names = "--no-fsync", description = "do not force the output to storage (no background writeback, no final fsync of "
            + "files and dirs): the save dir still appears under DIR only when complete, but a power loss or kernel crash soon after "
            + "may lose or tear it. For node-local scratch and outputs you can re-create; with --part/--finish, give it to every step")
    boolean noFsync;

    @CommandLine.Mixin
    PartOption part;

    @Option(names = "--finish", description = "after every --part has completed: check that each part is present and complete, write "
            + ".metadata, metadata.json, common state and tracker, and publish DIR atomically; every part's bytes are read back against the "
            + "CRC-32s it recorded (--no-verify: sizes only); a missing, incomplete or damaged part is named and nothing is published")
    boolean finish;

    @CommandLine.Mixin
    EngineOption engineOption = new EngineOption();

    @Option(names = "--quiet", description = "no progress bar and no summary")
    boolean quiet;

    @Option(names = "--json", description = "print the summary as JSON (schema ckpt.reshard/1)")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PlanExecutor executor = threads.executor(spec);
        ReshardOptions options;
        PartSpec partSpec = null;
        try {
            options = new ReshardOptions(source, outputDir, tp, pp, ep, optimizer == null ? null : OptimizerChoice.of(optimizer),
                    iteration, force, !noVerify, !noFsync);
            partSpec = part.spec(finish);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        boolean progress = !quiet && !json && System.console() != null;
        ReshardResult r;
        EngineOption.Opened engine = engineOption.open(spec, executor.threads());
        try (engine; ConvertCommand.Progress p = progress ? new ConvertCommand.Progress(System.err, "reshard") : null) {
            Resharder resharder = new Resharder(executor.withKernels(engine.kernels()));
            ConversionListener l = p == null ? ConversionListener.NONE : p;
            if (partSpec != null) r = resharder.part(options, partSpec, l);
            else if (finish) r = resharder.finish(options, l);
            else r = resharder.reshard(options, l);
        }
        PrintWriter out = TerminalText.safe(spec.commandLine().getOut());
        if (json) {
            Map<String, Object> m = toJson(r);
            m.putAll(engine.json());
            if (partSpec != null) {
                m.put("part", partSpec.index());
                m.put("parts", partSpec.count());
            }
            if (finish) m.put("finished_parts", true);
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(m));
        } else if (!quiet && partSpec != null) {
            double s = r.elapsed().toNanos() / 1e9;
            out.printf(Locale.ROOT, "part %s of reshard %s TP %d × PP %d → TP %d × PP %d, into %s: %d chunks, %s in %.1fs; "
                            + "run --finish after the last part%n", partSpec, r.iteration(), r.source().tp(), r.source().pp(),
                    r.target().tp(), r.target().pp(), r.output(), r.chunks(), Units.bytes(r.bytes()), s);
            for (String line : engine.summaryLines()) out.println(line);
        } else if (!quiet) {
            double s = r.elapsed().toNanos() / 1e9;
            out.printf(Locale.ROOT, "resharded %s TP %d × PP %d → %s TP %d × PP %d: %d model tensors, %s, %d chunks, %s in %.1fs%n",
                    r.iteration(), r.source().tp(), r.source().pp(), r.output(), r.target().tp(), r.target().pp(), r.modelTensors(),
                    optimizerLine(r), r.chunks(), Units.bytes(r.bytes()), s);
            for (String line : engine.summaryLines()) out.println(line);
            out.println("resume with Megatron: --load " + r.output() + " --tensor-model-parallel-size " + r.target().tp()
                    + " --pipeline-model-parallel-size " + r.target().pp()
                    + (r.optimizer() != null ? " --use-distributed-optimizer (optimizer state: fully_reshardable)" : " --no-load-optim"));
        }
        out.flush();
        return ExitCodes.OK;
    }

    private static String optimizerLine(ReshardResult r) {
        if (r.optimizer() != null)
            return r.optimizerTensors() + " optimizer tensors (" + r.sourceOptimizer() + " → " + r.optimizer() + ")";
        return r.sourceOptimizer() == null ? "no optimizer state" : "optimizer state dropped";
    }

    private static Map<String, Object> layout(int tp, int pp) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("tp", tp);
        m.put("pp", pp);
        return m;
    }

    static Map<String, Object> toJson(ReshardResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schema", "ckpt.reshard/1");
        m.put(VersionedJson.FIELD, BuildInfo.CURRENT.full());
        m.put("output_dir", r.output().toString());
        m.put("iteration", r.iterationNumber());
        m.put("iteration_dir", r.iteration());
        m.put("source_layout", layout(r.source().tp(), r.source().pp()));
        m.put("target_layout", layout(r.target().tp(), r.target().pp()));
        m.put("source_optimizer", r.sourceOptimizer());
        m.put("optimizer", r.optimizer());
        m.put("model_tensors", r.modelTensors());
        m.put("optimizer_tensors", r.optimizerTensors());
        m.put("chunks", r.chunks());
        m.put("bytes", r.bytes());
        m.put("files", r.files());
        m.put("seconds", r.elapsed().toNanos() / 1e9);
        return m;
    }
}
