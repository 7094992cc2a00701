package ckpt.cli;

import ckpt.convert.exec.ConversionListener;
import ckpt.convert.exec.ConvertOptions;
import ckpt.convert.exec.ConvertResult;
import ckpt.convert.exec.Converter;
import ckpt.convert.exec.OutputFormat;
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
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code ckpt convert PATH --format pytorch|huggingface --output-dir DIR}: a standalone model from a training checkpoint. */
@Command(name = "convert",
        mixinStandardHelpOptions = true,
        description = {"Convert a training checkpoint (Megatron torch_dist or legacy torch, PyTorch DCP) into a standalone model: "
                + "'pytorch' writes DIR/model.pt (torch.load(weights_only=True) gives {model_state_dict, model_config}); "
                + "'huggingface' writes safetensors shards, model.safetensors.index.json and config.json that "
                + "transformers' from_pretrained loads (Llama, Mistral, Qwen2/2.5, Qwen3, Mixtral and GPT-2 families). One tensor at a time, "
                + "straight from the checkpoint's chunks into the output files; the output appears under its name "
                + "only when complete."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:converted", "1:bad or unsupported input, or the output directory exists (see --force)", "2:usage error"})
final class ConvertCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PATH", description = "a Megatron save dir or iter_* dir (torch_dist or mp_rank_*), or a PyTorch DCP dir")
    Path checkpoint;

    @Option(names = "--format", required = true, paramLabel = "FORMAT", description = "pytorch or huggingface")
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

    @Option(names = "--force", description = "replace an existing output directory")
    boolean force;

    @Option(names = "--no-verify", description = "skip the CRC-32 check of every source record (on by default; "
            + "a record that changed after it was written fails the conversion, naming file, key and offset)")
    boolean noVerify;

    @Option(names = "--quiet", description = "no progress bar and no summary")
    boolean quiet;

    @Option(names = "--json", description = "print the summary as JSON (schema ckpt.convert/1)")
    boolean json;

    @Override
    public Integer call() throws Exception {
        ConvertOptions options;
        try {
            options = new ConvertOptions(checkpoint, OutputFormat.parse(format), outputDir, DtypeChoice.parse(dtype), arch,
                    HfShardPlanner.parseSize(maxShardSize), keepPaddedVocab, tokenizer, force, !noVerify);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        boolean progress = !quiet && !json && System.console() != null;
        ConvertResult r;
        try (Progress p = progress ? new Progress(System.err) : null) {
            r = new Converter().convert(options, p == null ? ConversionListener.NONE : p);
        }
        PrintWriter out = TerminalText.safe(spec.commandLine().getOut());
        PrintWriter err = TerminalText.safe(spec.commandLine().getErr());
        for (String w : r.warnings()) err.println("ckpt: warning: " + w);
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(toJson(r)));
        } else if (!quiet) {
            double s = r.elapsed().toNanos() / 1e9;
            out.printf(Locale.ROOT, "converted %s%s → %s (%s%s): %d tensors, %s, %,d parameters in %.1fs (%s/s)%n",
                    r.sourceFormat(), r.iteration() == null ? "" : " iteration " + r.iteration(), r.outputDir(),
                    r.format().id(), r.architecture() == null ? "" : ", " + r.architecture(), r.tensors(),
                    TextTable.humanBytes(r.bytes()), r.parameters(), s, TextTable.humanBytes((long) (r.bytes() / Math.max(s, 1e-3))));
        }
        out.flush();
        err.flush();
        return ExitCodes.OK;
    }

    static Map<String, Object> toJson(ConvertResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schema", "ckpt.convert/1");
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
        return m;
    }

    /** Terminal progress: bytes written with rate and ETA, tensors done as the extra message. */
    static final class Progress implements ConversionListener, AutoCloseable {
        private final PrintStream stream;
        private ProgressBar bar;
        private int total;
        private int done;

        Progress(PrintStream stream) {
            this.stream = stream;
        }

        @Override
        public void planned(ConversionPlan plan) {
            total = plan.tensors().size();
            bar = new ProgressBarBuilder().setTaskName("convert").setInitialMax(plan.totalBytes())
                    .setUnit("MiB", 1L << 20).showSpeed().setStyle(ProgressBarStyle.ASCII)
                    .setConsumer(new ConsoleProgressBarConsumer(stream)).setUpdateIntervalMillis(250).build();
            bar.setExtraMessage("0/" + total + " tensors");
        }

        @Override
        public void tensorWritten(OutputTensor tensor) {
            done++;
            bar.stepBy(tensor.byteSize());
            bar.setExtraMessage(done + "/" + total + " tensors");
        }

        @Override
        public void close() {
            if (bar != null) bar.close();
        }
    }
}
