package ckpt.cli;

import ckpt.convert.analysis.InspectReport;
import ckpt.convert.analysis.PickleSafety;
import ckpt.convert.analysis.Verifier;
import ckpt.convert.analysis.VerifyProgress;
import ckpt.convert.exec.ConversionListener;
import ckpt.convert.exec.ConvertOptions;
import ckpt.convert.exec.Converter;
import ckpt.convert.exec.OutputFormat;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.format.FormatException;
import ckpt.format.pickle.PickleAudit;
import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue #12 item 11: a seeded mutation fuzzer over every format's real fixtures. Each input is one fixture with one
 * file mutated ({@link FuzzMutator}); it goes through inspect (index + report + pickle audit), then verify --deep or
 * convert, called as the library, and every 25th input also through the CLI. Each must end in success or a
 * {@link FormatException} (one line, naming a file) — never another exception, an OutOfMemoryError or a hang.
 * <p>
 * Reproduce a failure with the seed and input number it prints:
 * {@code -Dckpt.fuzz.seed=S -Dckpt.fuzz.only=I}; {@code -Dckpt.fuzz.count=N} runs more (or fewer) inputs.
 */
class MutationFuzzTest {
    private static final long SEED = Long.getLong("ckpt.fuzz.seed", 20261204L);
    private static final int COUNT = Integer.getInteger("ckpt.fuzz.count", 2000);
    private static final int ONLY = Integer.getInteger("ckpt.fuzz.only", -1);
    private static final long LIMIT_S = Long.getLong("ckpt.fuzz.timeout", 20);

    /**
     * A fixture, the path ckpt is given, the files mutated, the format convert writes, and how often its files are
     * picked (relative: the slow ones, whose every input reads megabytes, less often).
     */
    record Target(String fixture, String open, List<String> files, OutputFormat format, int weight) {
        Target(String fixture, String open, List<String> files, OutputFormat format) {
            this(fixture, open, files, format, 4);
        }
    }

    static final List<Target> TARGETS = List.of(
            new Target("dcp-fsdp2/checkpoint", "", List.of(".metadata", "__0_0.distcp"), OutputFormat.PYTORCH),
            new Target("dcp-variety/checkpoint", "", List.of(".metadata", "__1_0.distcp"), OutputFormat.SAFETENSORS),
            new Target("dcp-variety-safetensors/checkpoint", "", List.of(".metadata", "__0_0.distcp"), OutputFormat.PYTORCH),
            new Target("dcp-variety-hf/checkpoint", "", List.of("model-00001-of-00001.safetensors", "model.safetensors.index.json"), OutputFormat.PYTORCH),
            new Target("torch-save/files", "zip_dtypes.pt", List.of("zip_dtypes.pt"), OutputFormat.SAFETENSORS),
            new Target("torch-save/files", "zip_nested.pt", List.of("zip_nested.pt"), OutputFormat.SAFETENSORS),
            new Target("torch-save/files", "zip_module_state.pt", List.of("zip_module_state.pt"), OutputFormat.PYTORCH),
            new Target("torch-save/files", "legacy_nonzip.pt", List.of("legacy_nonzip.pt"), OutputFormat.SAFETENSORS),
            new Target("megatron-llama-tp2-core014/checkpoint", "", List.of("latest_checkpointed_iteration.txt",
                    "iter_0000004/metadata.json", "iter_0000004/.metadata", "iter_0000004/common.pt", "iter_0000004/__1_1.distcp"),
                    OutputFormat.HUGGINGFACE, 2),
            new Target("megatron-llama-tp2-legacy-torch/checkpoint", "", List.of("latest_checkpointed_iteration.txt",
                    "iter_0000004/mp_rank_00/model_optim_rng.pt", "iter_0000004/mp_rank_01/distrib_optim.pt"), OutputFormat.PYTORCH, 3),
            new Target("megatron-llama3-8b-meta/checkpoint", "", List.of("iter_0000001/.metadata", "iter_0000001/metadata.json"), OutputFormat.PYTORCH),
            new Target("deepspeed-zero1-gpt2-fp16", "", List.of("latest", "global_step4/mp_rank_00_model_states.pt"), OutputFormat.PYTORCH),
            new Target("deepspeed-zero3-llama-dp2", "", List.of("latest", "global_step4/zero_pp_rank_1_mp_rank_00_model_states.pt",
                    "global_step4/bf16_zero_pp_rank_0_mp_rank_00_optim_states.pt"), OutputFormat.PYTORCH),
            new Target("deepspeed-zero2-llama-dp2-universal", "global_step4_universal", List.of(
                    "global_step4_universal/mp_rank_00_model_states.pt",
                    "global_step4_universal/zero/model.layers.2.self_attn.k_proj.weight/exp_avg.pt"), OutputFormat.PYTORCH, 1));

    @TempDir
    Path tmp;

    @Test
    void mutatedFixturesEndInSuccessOrAFormatError() throws Exception {
        List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        int from = ONLY >= 0 ? ONLY : 0, to = ONLY >= 0 ? ONLY + 1 : COUNT;
        // inputs are independent: one worker per core, each on its own copies of the fixtures
        int workers = ONLY >= 0 ? 1 : Math.min(2, Runtime.getRuntime().availableProcessors());
        List<Thread> threads = new ArrayList<>();
        List<Throwable> crashed = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int w = 0; w < workers; w++) {
            Worker worker = new Worker(tmp.resolve("w" + w));
            int first = from + w, step = workers;
            Thread t = Thread.ofPlatform().name("fuzz-worker-" + w).start(() -> {
                try {
                    for (int i = first; i < to && failures.size() < 10; i += step) worker.run(i, failures);
                } catch (Throwable e) {
                    crashed.add(e);
                } finally {
                    worker.runner.shutdownNow();
                }
            });
            threads.add(t);
        }
        for (Thread t : threads) t.join();
        assertThat(crashed).isEmpty();
        assertThat(failures).as("inputs that ended in neither success nor a format error (of %d from seed %d)", to - from, SEED).isEmpty();
    }

    /** Its own copy of every fixture, each file's original bytes, and the thread inputs run on (replaced after a hang). */
    private static final class Worker {
        final Map<String, Path> copies = new HashMap<>();
        final Map<String, byte[]> originals = new HashMap<>();
        final List<String[]> files = new ArrayList<>(); // {target index, file}, a file listed once per unit of weight
        final Path dir;
        ExecutorService runner = newRunner();

        Worker(Path dir) throws java.io.IOException {
            this.dir = dir;
            for (int t = 0; t < TARGETS.size(); t++) {
                Target target = TARGETS.get(t);
                if (!copies.containsKey(target.fixture()))
                    copies.put(target.fixture(), Fixtures.copyTree(Fixtures.path(target.fixture()), dir.resolve("in").resolve(target.fixture())));
                Path copy = copies.get(target.fixture());
                for (String f : target.files()) {
                    originals.putIfAbsent(copy.resolve(f).toString(), Files.readAllBytes(copy.resolve(f)));
                    for (int k = 0; k < target.weight(); k++) files.add(new String[]{String.valueOf(t), f});
                }
            }
        }

        void run(int i, List<String> failures) throws Exception {
            Random r = new Random(SEED * 1_000_003L + i);
            String[] pick = files.get(r.nextInt(files.size()));
            Target target = TARGETS.get(Integer.parseInt(pick[0]));
            Path root = copies.get(target.fixture());
            Path file = root.resolve(pick[1]);
            byte[] original = originals.get(file.toString());
            FuzzMutation m = FuzzMutator.mutate(target.fixture() + "/" + pick[1], original, r);
            Files.write(file, m.apply(original));
            Path open = target.open().isEmpty() ? root : root.resolve(target.open());
            Path out = dir.resolve("out-" + i);
            boolean viaCli = i % 25 == 0, convert = i % 2 == 1;
            String recipe = "seed " + SEED + " input " + i + " (-Dckpt.fuzz.seed=" + SEED + " -Dckpt.fuzz.only=" + i + "): " + m;
            Future<String> run = runner.submit(() -> viaCli ? throughCli(open, target, out) : throughLibrary(open, target, out, convert));
            try {
                String problem = run.get(LIMIT_S, TimeUnit.SECONDS);
                if (problem != null) failures.add(recipe + " → " + problem);
            } catch (TimeoutException e) {
                failures.add(recipe + " → no result within " + LIMIT_S + " s (hang?)");
                run.cancel(true);
                runner.shutdownNow();
                runner = newRunner();
            } catch (java.util.concurrent.ExecutionException e) {
                failures.add(recipe + " → " + describe(e.getCause()));
            } finally {
                Files.write(file, original);
                if (Files.exists(out)) Fixtures.deleteTree(out);
            }
        }
    }

    /**
     * inspect, then verify --deep (even inputs) or convert (odd ones), as the CLI calls them; null when each ended in
     * success or a format error.
     */
    private static String throughLibrary(Path open, Target target, Path out, boolean convert) throws Exception {
        try {
            try (PickleAudit audit = PickleAudit.start(); CheckpointIndex index = Checkpoints.open(open)) {
                InspectReport.of(index);
                PickleSafety.problems(audit.findings());
            }
        } catch (FormatException e) {
            String bad = badMessage(e);
            if (bad != null) return "inspect: " + bad;
        }
        if (!convert) {
            try {
                new Verifier(true, VerifyProgress.NONE).verify(open); // problems are listed in the report
            } catch (FormatException e) {
                String bad = badMessage(e);
                return bad == null ? null : "verify: " + bad;
            }
            return null;
        }
        try {
            ConvertOptions o = ConvertOptions.of(open, target.format(), out);
            if (target.format() == OutputFormat.HUGGINGFACE) o = o.withArch("auto");
            new Converter().convert(o, ConversionListener.NONE);
        } catch (FormatException e) {
            String bad = badMessage(e);
            if (bad != null) return "convert: " + bad;
        }
        return null;
    }

    /** The same through the CLI: exit 0 or 1, and on 1 a single line without a Java class or stack frame. */
    private static String throughCli(Path open, Target target, Path out) {
        List<Object[]> commands = List.of(new Object[]{"inspect", open}, new Object[]{"verify", "--deep", open},
                new Object[]{"convert", open, "--format", target.format().id(), "--output-dir", out, "--quiet"});
        for (Object[] c : commands) {
            RotationCommandsTest.Run r = RotationCommandsTest.ckpt(c);
            String cmd = String.valueOf(c[0]);
            if (r.code() != ExitCodes.OK && r.code() != ExitCodes.PROBLEMS) return cmd + ": exit " + r.code() + ": " + r.err().strip();
            if (r.code() == ExitCodes.PROBLEMS && !cmd.equals("verify")) {
                List<String> lines = r.err().lines().filter(l -> !l.startsWith("WARNING")).toList();
                if (lines.size() != 1 || lines.getFirst().contains("Exception") || lines.getFirst().contains("\tat "))
                    return cmd + ": exit 1 without one clean line: " + r.err().strip();
            }
        }
        return null;
    }

    /** Null when a format error's message is one line naming a file and no Java class; else what is wrong with it. */
    private static String badMessage(FormatException e) {
        String msg = e.getMessage();
        if (e.file() == null) return "format error names no file: " + msg;
        if (msg.contains("\n")) return "format error spans several lines: " + msg;
        if (msg.matches(".*\\b(java\\.|[A-Z][A-Za-z]*(Exception|Error)\\b).*")) return "format error names a Java class: " + msg;
        return null;
    }

    private static String describe(Throwable t) {
        java.io.StringWriter sw = new java.io.StringWriter();
        t.printStackTrace(new java.io.PrintWriter(sw));
        List<String> lines = sw.toString().lines().limit(12).toList();
        return String.join("\n    ", lines);
    }

    private static ExecutorService newRunner() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-input");
            t.setDaemon(true);
            return t;
        });
    }
}
