package ckpt.convert.exec;

import ckpt.convert.index.CheckpointFormat;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.mapping.DeepSpeedStateDict;
import ckpt.convert.mapping.HfMapping;
import ckpt.convert.mapping.HfMappings;
import ckpt.convert.mapping.MappingContext;
import ckpt.convert.mapping.MegatronModuleNames;
import ckpt.convert.mapping.MegatronSource;
import ckpt.convert.mapping.StateDictTensors;
import ckpt.convert.mapping.imports.MegatronImport;
import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.OutputTensor;
import ckpt.format.FormatException;
import ckpt.format.Writeback;
import ckpt.format.megatron.ModelConfig;
import ckpt.format.tensor.DType;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * {@code ckpt convert}: index → plan → execute. Opens the checkpoint, checks that its data is there, builds the plan
 * for the requested format (the model's state dict under its own names for {@code pytorch} and {@code safetensors};
 * an HF family mapping for {@code huggingface}), has the {@link PlanExecutor}'s workers write it into a staging
 * directory, adds config and tokenizer files, and renames the directory into place.
 */
public final class Converter {
    public static final String MODEL_PT = "model.pt";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    private final PlanExecutor executor;
    /** The output's background flusher, one per conversion (tests give one whose flushes fail). */
    private final Supplier<Writeback> writeback;

    public Converter() {
        this(new PlanExecutor());
    }

    public Converter(PlanExecutor executor) {
        this(executor, Writeback::configured);
    }

    Converter(PlanExecutor executor, Supplier<Writeback> writeback) {
        this.executor = executor;
        this.writeback = writeback;
    }

    /** A plan with everything known before any byte moves. */
    public record Planned(ConversionPlan plan, Map<String, Object> modelConfig, HfMapping family, MappingContext context,
                          MegatronImport megatron) {
        public Planned(ConversionPlan plan, Map<String, Object> modelConfig, HfMapping family, MappingContext context) {
            this(plan, modelConfig, family, context, null);
        }
    }

    public ConvertResult convert(ConvertOptions o, ConversionListener listener) throws IOException {
        OutputDirGuard.check(o.checkpoint(), o.outputDir(), o.force());
        StagingDir.checkTarget(o.outputDir(), o.force());
        try (CheckpointIndex index = Checkpoints.open(o.checkpoint())) {
            return convert(index, o, listener);
        }
    }

    /** Converts an open index (the caller closes it); {@code o.checkpoint()} is not reopened. */
    public ConvertResult convert(CheckpointIndex index, ConvertOptions o, ConversionListener listener) throws IOException {
        try {
            return convertIndex(index, o, listener);
        } catch (FormatException e) {
            throw e.under(index.path()); // an error about a tensor or a relative file names the checkpoint's path
        }
    }

    private ConvertResult convertIndex(CheckpointIndex index, ConvertOptions o, ConversionListener listener) throws IOException {
        long start = System.nanoTime();
        InputCheck.requireDataFiles(index); // before planning: a plan would otherwise guess from what is missing
        index.checkRecords(o.verifyRecords());
        Planned p = plan(index, o); // metadata only: a checkpoint we cannot map fails before the output is touched
        InputCheck.requireRecords(index, p.plan());
        try (StagingDir staging = StagingDir.create(o.outputDir(), o.force())) {
            listener.planned(p.plan());
            requireSpace(staging.dir(), p.plan().totalBytes(), Files.getFileStore(staging.dir()).getUsableSpace());
            List<String> warnings = new ArrayList<>();
            List<String> files;
            Writeback forces = writeback.get().durable(o.fsync()); // --no-fsync: the same writers, no force
            try (OutputWriter writer = writer(index, o, p, staging.dir(), staging.target(), warnings, Share.WHOLE, forces)) {
                executor.execute(p.plan(), writer, listener, index::releaseMappings);
                files = writer.finish();
            } catch (InternalError e) {
                // A write into a mapped output region that the file system cannot back (disk full, quota, I/O
                // error) surfaces as SIGBUS → InternalError, not IOException; the staging dir is removed on close.
                throw new IOException("writing " + staging.dir() + " failed: the file system could not store a mapped "
                        + "region (disk full or I/O error?): " + e.getMessage(), e);
            }
            staging.commit(forces);
            return new ConvertResult(staging.target(), o.format(), index.format().jsonName(), index.iteration(),
                    p.family() == null ? architectureOf(p.modelConfig()) : p.family().architecture(), p.plan().tensors().size(), p.plan().totalBytes(),
                    p.plan().totalElements(), files.stream().sorted().toList(), Duration.ofNanos(System.nanoTime() - start), warnings,
                    p.megatron() == null ? List.of() : p.megatron().flags());
        }
    }

    /**
     * The writer of {@code o.format()}, laid out from the plan in {@code dir} (which is published as {@code target}),
     * for one share of the output: all of it, or a part ({@code --part}) or the completion ({@code --finish}).
     * The writer flushes its files with {@code writeback} while they are written, and closes it.
     */
    static PartWriter writer(CheckpointIndex index, ConvertOptions o, Planned p, Path dir, Path target, List<String> warnings,
                             Share share, Writeback writeback) throws IOException {
        return switch (o.format()) {
            case PYTORCH -> new TorchSaveTarget(dir.resolve(MODEL_PT), p.plan(), p.modelConfig(), share, writeback);
            case SAFETENSORS -> new SafetensorsTarget(dir, p.plan(), o.maxShardSize(), share, writeback);
            case HUGGINGFACE -> {
                // DeepSpeed exports carry the model's own config.json (in modelConfig); Megatron's is built by the family.
                boolean deepspeed = index.format() == CheckpointFormat.DEEPSPEED;
                Map<String, Object> config = new LinkedHashMap<>(deepspeed ? p.modelConfig() : p.family().config(p.context()));
                Object tokenizerHint = deepspeed ? DeepSpeedStateDict.tokenizerCandidate(index, o.configDir()).map(Path::toString).orElse(null)
                        : index.args().get("tokenizer_model");
                Optional<Path> tok = TokenizerFiles.source(o.tokenizerDir(), index.path(), tokenizerHint);
                if (tok.isEmpty())
                    warnings.add("no tokenizer files found (checkpoint has no tokenizer/ dir): copy them into the output or pass --tokenizer DIR");
                yield new HuggingFaceOutput(dir, p.plan(), o.maxShardSize(), new HuggingFaceOutput.Extras(config, tok), share, writeback);
            }
            case MEGATRON -> new MegatronOutput(dir, MegatronOutput.save(p.megatron(), PartedConverter.fingerprint(index, o, p)), share, target, writeback);
        };
    }

    /**
     * Refuses to start when the output cannot fit: mapped writes into sparse files would otherwise fail midway with
     * SIGBUS. Headers, indexes and configs are small: 1 MiB + 0.1% of slack covers them.
     */
    public static void requireSpace(Path dir, long tensorBytes, long usable) {
        long need = tensorBytes + (1L << 20) + tensorBytes / 1000;
        if (usable < need)
            throw new FormatException(dir.getParent(), "not enough free space for the output: it needs about "
                    + ckpt.convert.analysis.Units.full(need) + ", " + ckpt.convert.analysis.Units.full(usable) + " are free");
    }

    /** Megatron checkpoints in either on-disk format: the legacy reader presents the same global keys. */
    private static boolean isMegatron(CheckpointIndex index) {
        return index.format() == CheckpointFormat.MEGATRON_TORCH_DIST || index.format() == CheckpointFormat.MEGATRON_LEGACY_TORCH;
    }

    /** The plan for {@code o.format()} over an open index (no output touched). */
    public static Planned plan(CheckpointIndex index, ConvertOptions o) {
        if (o.format() == OutputFormat.MEGATRON) {
            if (index.format() != CheckpointFormat.SAFETENSORS || !java.nio.file.Files.isDirectory(index.path()))
                throw new FormatException(index.path(), "--format megatron reads Hugging Face model dirs (config.json + safetensors), not "
                        + index.format().title());
            MegatronImport m = MegatronImport.plan(index, o.parallel(), o.dtype());
            return new Planned(m.plan(), null, null, null, m);
        }
        if (index.format() == CheckpointFormat.DEEPSPEED && o.format() == OutputFormat.HUGGINGFACE) return deepspeedHf(index, o);
        if (o.format() == OutputFormat.PYTORCH || o.format() == OutputFormat.SAFETENSORS) {
            Planned p = stateDictPlan(index, o);
            if (o.format() == OutputFormat.SAFETENSORS) requireSafetensorsDtypes(index, p.plan());
            return p;
        }
        if (!isMegatron(index))
            throw new FormatException(index.path(), "--format huggingface needs a Megatron checkpoint (its args describe the architecture); this is a "
                    + index.format().title());
        ModelConfig c = requireConfig(index);
        MegatronSource src = new MegatronSource(index, c.numLayers());
        long rows = src.peek("embedding.word_embeddings.weight").map(t -> t.dim(0))
                .orElseThrow(() -> new FormatException(index.path(), "the checkpoint has no embedding.word_embeddings.weight"));
        long vocab = o.keepPaddedVocab() || c.vocabSize() == null ? rows : c.vocabSize();
        if (vocab > rows)
            throw new FormatException(index.path(), "args vocab_size " + vocab + " exceeds the " + rows + " embedding rows");
        DType dtype = o.dtype().target(src.peek("embedding.word_embeddings.weight").get().dtype());
        MappingContext ctx = new MappingContext(index, c, src, vocab, dtype);
        HfMapping family = HfMappings.choose(o.arch(), ctx);
        List<OutputTensor> tensors = fromFile(index, () -> family.tensors(ctx));
        List<String> unused = src.unused();
        if (!unused.isEmpty())
            throw new FormatException(index.path(), "the " + family.name() + " mapping has no place for " + unused.size()
                    + " tensor(s), converting would drop them: " + String.join(", ", unused.subList(0, Math.min(8, unused.size())))
                    + (unused.size() > 8 ? ", …" : "") + " (supported: " + String.join(", ", HfMappings.names()) + ")");
        return new Planned(fromFile(index, () -> new ConversionPlan(tensors).withDtype(o.dtype())), null, family, ctx);
    }

    /**
     * Runs a planning step whose inputs (shapes, head counts, sizes) all come from the checkpoint: when they do
     * not fit together, that is bad input naming the checkpoint (exit 1), not a usage error or a bug.
     */
    private static <T> T fromFile(CheckpointIndex index, java.util.function.Supplier<T> step) {
        try {
            return step.get();
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new FormatException(index.path(), "the checkpoint's shapes do not fit together: " + e.getMessage(), e);
        }
    }

    /**
     * The model's state dict under its own names: Megatron module names (no architecture mapping), or the tensors
     * of a DCP app state, torch.save file or safetensors input ({@link StateDictTensors}); the same for
     * {@code pytorch} and {@code safetensors}, so the two formats hold identical tensors.
     */
    private static Planned stateDictPlan(CheckpointIndex index, ConvertOptions o) {
        if (isMegatron(index)) {
            ModelConfig c = requireConfig(index);
            List<OutputTensor> tensors = MegatronModuleNames.tensors(index, c).stream()
                    .filter(t -> o.keys().test(t.name(), true)).toList();
            if (tensors.isEmpty()) throw new FormatException(index.path(), "no tensor matches " + o.keys());
            return new Planned(new ConversionPlan(tensors).withDtype(o.dtype()), MegatronModuleNames.modelConfig(index, c), null, null);
        }
        if (index.format() == CheckpointFormat.DEEPSPEED) { // zero_to_fp32's state dict
            List<OutputTensor> tensors = DeepSpeedStateDict.tensors(index, true).stream().filter(t -> o.keys().test(t.name(), true)).toList();
            if (tensors.isEmpty()) throw new FormatException(index.path(), "no tensor matches " + o.keys());
            return new Planned(new ConversionPlan(tensors).withDtype(o.dtype()), new LinkedHashMap<>(), null, null);
        }
        return new Planned(new ConversionPlan(StateDictTensors.tensors(index, o.keys())).withDtype(o.dtype()), new LinkedHashMap<>(), null, null);
    }

    private static void requireSafetensorsDtypes(CheckpointIndex index, ConversionPlan plan) {
        for (OutputTensor t : plan.tensors())
            if (t.dtype().safetensorsName().isEmpty())
                throw new FormatException(index.path(), "tensor " + t.name() + " is " + t.dtype().torchName()
                        + ", which safetensors cannot store (leave it out with --exclude '" + t.name() + "')");
    }

    /** DeepSpeed → huggingface: zero_to_fp32's state dict in HF names, the HF model's own config.json along. */
    private static Planned deepspeedHf(CheckpointIndex index, ConvertOptions o) {
        Map<String, Object> config = DeepSpeedStateDict.hfConfig(index, o.configDir());
        ConversionPlan plan = new ConversionPlan(DeepSpeedStateDict.hfTensors(index, config)).withDtype(o.dtype());
        return new Planned(plan, DeepSpeedStateDict.writtenConfig(index, config, plan.tensors()), null, null);
    }

    private static ModelConfig requireConfig(CheckpointIndex index) {
        if (index.config() == null)
            throw new FormatException(index.path(), "the checkpoint's common state has no args: the model architecture is unknown");
        return index.config();
    }

    private static String architectureOf(Map<String, Object> config) {
        return config != null && config.get("architectures") instanceof List<?> l && !l.isEmpty() ? String.valueOf(l.getFirst()) : null;
    }

    static void writeJson(Path file, Map<String, Object> value) throws IOException {
        DefaultPrettyPrinter pp = new DefaultPrettyPrinter().withObjectIndenter(new DefaultIndenter("  ", "\n"));
        byte[] bytes = JSON.writer(pp).writeValueAsBytes(value);
        byte[] withNewline = new byte[bytes.length + 1];
        System.arraycopy(bytes, 0, withNewline, 0, bytes.length);
        withNewline[bytes.length] = '\n';
        Files.write(file, withNewline);
    }
}
