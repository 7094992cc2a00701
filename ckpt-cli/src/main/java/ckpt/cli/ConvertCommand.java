package ckpt.cli;

import ckpt.convert.analysis.Units;
import ckpt.convert.exec.ConversionListener;
import ckpt.convert.exec.ConvertOptions;
import ckpt.convert.exec.PlanExecutor;
import ckpt.convert.plan.KeyFilter;
import ckpt.convert.mapping.imports.MegatronArgs;
import ckpt.convert.exec.ConvertResult;
import ckpt.convert.exec.Converter;
import ckpt.convert.exec.OutputFormat;
import ckpt.convert.exec.PartedConverter;
import ckpt.convert.plan.PartSpec;
import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.DtypeChoice;
import ckpt.convert.plan.OutputTensor;
import ckpt.format.safetensors.HfShardPlanner;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code ckpt convert PATH --format pytorch|huggingface|safetensors|megatron --output-dir DIR}: a standalone model from
 * a training checkpoint, or a Megatron training checkpoint from an HF model dir.
 */
@Command(name = "convert",
        mixinStandardHelpOptions = true,
        description = {"Convert a checkpoint (Megatron torch_dist or legacy torch, PyTorch DCP/FSDP, DeepSpeed ZeRO, torch.save, safetensors) into a standalone model: "
                + "'pytorch' writes DIR/model.pt (torch.load(weights_only=True) gives {model_state_dict, model_config}); "
                + "'safetensors' writes the same tensors under the same names as safetensors shards + model.safetensors.index.json; "
                + "'huggingface' (Megatron input) writes safetensors shards, model.safetensors.index.json and config.json that "
                + "transformers' from_pretrained loads (Llama, Mistral, Qwen2/2.5, Qwen3, Mixtral and GPT-2 families). "
                + "Workers (--threads) copy straight from the checkpoint's chunks into the output files, in place; the output "
                + "appears under its name only when complete. 'megatron' goes the other way: an HF model dir (Llama, Mistral, Qwen2/2.5, Qwen3, "
                + "Mixtral, GPT-2) becomes a Megatron-core torch_dist save dir (tracker + release/) for the --tp/--pp/--ep "
                + "layout, loadable with --load DIR --finetune under the printed flags."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:converted (or, with --part, the part written)",
                "1:bad or unsupported input, the output directory exists (see --force), or --finish found a part missing, "
                        + "incomplete, damaged or of another plan (named)", "2:usage error"})
final class ConvertCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PATH", description = "a Megatron save dir or iter_* dir (torch_dist or mp_rank_*), a PyTorch DCP dir, a DeepSpeed save dir or global_step* dir, a torch.save file, or safetensors; for --format megatron an HF model dir")
    Path checkpoint;

    @Option(names = "--format", required = true, paramLabel = "FORMAT",
            description = "pytorch (model.pt), huggingface (HF model dir), safetensors (the model's own tensor names, sharded + index) or megatron (from an HF model dir)")
    String format;

    @Option(names = "--output-dir", required = true, paramLabel = "DIR", description = "directory to create")
    Path outputDir;

    @Option(names = "--dtype", defaultValue = "keep", paramLabel = "DTYPE",
            description = "keep, bf16, fp16 or fp32 for floating-point weights (default ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--arch", defaultValue = "auto", paramLabel = "ARCH",
            description = "huggingface architecture: auto (from the saved args), llama, mistral, qwen2, qwen3, mixtral or gpt2 (default ${DEFAULT-VALUE})")
    String arch;

    @Option(names = "--max-shard-size", defaultValue = "5GB", paramLabel = "SIZE",
            description = "largest safetensors shard, e.g. 5GB, 2GiB, 500MB (default ${DEFAULT-VALUE})")
    String maxShardSize;

    @Option(names = "--keep-padded-vocab", description = "keep Megatron's vocabulary padding rows (default: trim to the args' vocab_size)")
    boolean keepPaddedVocab;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "copy tokenizer files (and generation_config.json) from this dir")
    Path tokenizer;

    @Option(names = "--include", paramLabel = "GLOB",
            description = "pytorch/safetensors: write exactly the tensors whose stored key matches (repeatable; * and ? wildcards), instead of the model weights")
    List<String> include = new ArrayList<>();

    @Option(names = "--exclude", paramLabel = "GLOB", description = "pytorch/safetensors: leave out tensors whose key matches (repeatable)")
    List<String> exclude = new ArrayList<>();

    @CommandLine.Mixin
    ThreadsOption threads = new ThreadsOption();

    @Option(names = "--config", paramLabel = "DIR",
            description = "DeepSpeed, huggingface: the model's config.json (or its dir); default: beside the checkpoint")
    Path config;

    @Option(names = "--tp", defaultValue = "1", paramLabel = "N", description = "megatron: tensor-parallel size of the written layout (default ${DEFAULT-VALUE})")
    int tp;

    @Option(names = "--pp", defaultValue = "1", paramLabel = "N", description = "megatron: pipeline-parallel size (default ${DEFAULT-VALUE})")
    int pp;

    @Option(names = "--ep", defaultValue = "1", paramLabel = "N", description = "megatron: expert-parallel size, MoE models only (default ${DEFAULT-VALUE})")
    int ep;

    @Option(names = "--force", description = "replace an existing output directory")
    boolean force;

    @Option(names = "--no-verify", description = "skip the CRC-32 check of every source record (on by default; "
            + "a record that changed after it was written fails the conversion, naming file, key and offset); with --finish, "
            + "skip reading the parts' bytes back against their recorded CRC-32s (sizes are still checked)")
    boolean noVerify;

    @Option(names = "--no-fsync", description = "do not force the output to storage (no background writeback, no final fsync of "
            + "files and dirs): faster where the disk is slow to write back; the output still appears under DIR only when complete, "
            + "but a power loss or kernel crash soon after may lose or tear it. For node-local scratch and outputs you can re-create; "
            + "with --part/--finish, give it to every step")
    boolean noFsync;

    @CommandLine.Mixin
    PartOption part;

    @Option(names = "--finish", description = "after every --part has completed: check that each part is present and complete, write "
            + "the indexes/config/central directory/.metadata and publish DIR atomically; every part's bytes are read back against the "
            + "CRC-32s it recorded (--no-verify: sizes only); a missing, incomplete or damaged part is named and nothing is published")
    boolean finish;

    @CommandLine.Mixin
    EngineOption engineOption = new EngineOption();

    @Option(names = "--quiet", description = "no progress bar and no summary")
    boolean quiet;

    @Option(names = "--json", description = "print the summary as JSON (schema ckpt.convert/1)")
    boolean json;

    @Override
    public Integer call() throws Exception {
        ConvertOptions options;
        try {
            options = new ConvertOptions(checkpoint, OutputFormat.parse(format), outputDir, DtypeChoice.parse(dtype), arch,
                    HfShardPlanner.parseSize(maxShardSize), keepPaddedVocab, tokenizer, force, config, new MegatronArgs.Parallel(tp, pp, ep),
                    new KeyFilter(include, exclude), !noVerify, !noFsync);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        PlanExecutor executor = threads.executor(spec);
        PartSpec partSpec = null;
        try {
            partSpec = part.spec(finish);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        boolean progress = !quiet && !json && System.console() != null;
        ConvertResult r;
        EngineOption.Opened engine = engineOption.open(spec, executor.threads());
        try (engine; Progress p = progress ? new Progress(System.err) : null) {
            ConversionListener l = p == null ? ConversionListener.NONE : p;
            executor = executor.withKernels(engine.kernels());
            if (partSpec != null) r = new PartedConverter(executor).part(options, partSpec, l);
            else if (finish) r = new PartedConverter(executor).finish(options, l);
            else r = new Converter(executor).convert(options, l);
        }
        PrintWriter out = TerminalText.safe(spec.commandLine().getOut());
        PrintWriter err = TerminalText.safe(spec.commandLine().getErr());
        for (String w : r.warnings()) err.println("ckpt: warning: " + w);
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
            out.printf(Locale.ROOT, "part %s of %s → %s: %d tensors, %s in %.1fs (%s/s); run --finish after the last part%n",
                    partSpec, r.sourceFormat(), r.outputDir(), r.tensors(), Units.bytes(r.bytes()), s,
                    Units.decimal((long) (r.bytes() / Math.max(s, 1e-3))));
            for (String line : engine.summaryLines()) out.println(line);
        } else if (!quiet) {
            double s = r.elapsed().toNanos() / 1e9;
            out.printf(Locale.ROOT, "converted %s%s → %s (%s%s): %d tensors, %s, %s parameters in %.1fs (%s/s)%n",
                    r.sourceFormat(), r.iteration() == null ? "" : " iteration " + r.iteration(), r.outputDir(),
                    r.format().id(), r.architecture() == null ? "" : ", " + r.architecture(), r.tensors(),
                    Units.bytes(r.bytes()), Units.params(r.parameters()), s, Units.decimal((long) (r.bytes() / Math.max(s, 1e-3))));
            for (String line : engine.summaryLines()) out.println(line);
            if (!r.megatronFlags().isEmpty())
                out.println("Megatron flags of the written model (load with --load " + r.outputDir() + " --finetune --no-load-optim --no-load-rng):\n  "
                        + String.join(" ", r.megatronFlags()));
        }
        out.flush();
        err.flush();
        return ExitCodes.OK;
    }

    static Map<String, Object> toJson(ConvertResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schema", "ckpt.convert/1");
        m.put(VersionedJson.FIELD, BuildInfo.CURRENT.full());
        m.put("output_dir", r.outputDir().toString());
        m.put("format", r.format().id());
        m.put("source_format", r.sourceFormat());
        m.put("iteration", r.iteration());
        m.put("architecture", r.architecture());
        m.put("tensors", r.tensors());
        m.put("bytes", r.bytes());
        m.put("parameters", r.parameters());
        m.put("files", r.files());
        m.put("seconds", r.elapsed().toNanos() / 1e9);
        m.put("warnings", r.warnings());
        if (!r.megatronFlags().isEmpty()) m.put("megatron_flags", r.megatronFlags());
        return m;
    }

    /** Terminal progress: bytes written with rate and ETA, tensors done as the extra message. */
    static final class Progress implements ConversionListener, AutoCloseable {
        private final PrintStream stream;
        private final String task;
        private ProgressBar bar;
        private int total;
        private int done;

        Progress(PrintStream stream) {
            this(stream, "convert");
        }

        Progress(PrintStream stream, String task) {
            this.stream = stream;
            this.task = task;
        }

        @Override
        public void planned(ConversionPlan plan) {
            total = plan.tensors().size();
            bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(plan.totalBytes())
                    .setUnit("MiB", 1L << 20).showSpeed().setStyle(ProgressBarStyle.ASCII)
                    .setConsumer(new ConsoleProgressBarConsumer(stream)).setUpdateIntervalMillis(250).build();
            bar.setExtraMessage("0/" + total + " tensors");
        }

        @Override
        public void bytesWritten(long bytes) {
            bar.stepBy(bytes);
        }

        @Override
        public void tensorWritten(OutputTensor tensor) {
            done++;
            bar.setExtraMessage(done + "/" + total + " tensors");
        }

        @Override
        public void close() {
            if (bar != null) bar.close();
        }
    }
}
