package ckpt.cli;

import ckpt.convert.analysis.VerifyProgress;
import ckpt.convert.diff.CheckpointDiff;
import ckpt.convert.index.KeyGlob;
import ckpt.convert.diff.DiffJson;
import ckpt.convert.diff.DiffOptions;
import ckpt.convert.diff.DiffReport;
import ckpt.convert.diff.TensorDiff;
import ckpt.format.InputText;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code ckpt diff A B}: did anything change between two checkpoints, across formats? */
@Command(name = "diff",
        mixinStandardHelpOptions = true,
        description = {"Compare two checkpoints tensor by tensor, in any formats ckpt reads. Both sides are matched "
                + "under one naming: their own keys, the module names `convert --format pytorch` writes, or the "
                + "Hugging Face names `convert --format huggingface` writes (so a Megatron checkpoint compares with "
                + "its HF export, a legacy torch save with its torch_dist twin, one iteration with another). Per "
                + "tensor: same or different, dtype and shape changes, differing elements, max abs / rel diff, "
                + "cosine similarity, and where the first difference is stored in each input; missing and extra "
                + "tensors. Reads tensors block by block (bounded memory), several tensors at once; --engine picks the "
                + "kernels that read the blocks, the statistics are always computed in the JVM (double precision)."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:identical within the tolerances (same names, shapes, dtypes and values)",
                "1:different (listed), or an input is not a checkpoint ckpt can read (one line says why)",
                "2:usage error"})
final class DiffCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "A", description = "first checkpoint (any input ckpt reads)")
    Path a;

    @Parameters(index = "1", paramLabel = "B", description = "second checkpoint")
    Path b;

    @Option(names = "--json", description = "print JSON (schema ckpt.diff/1, docs/CLI.md)")
    boolean json;

    @Option(names = "--atol", paramLabel = "X", defaultValue = "0", description = "absolute tolerance (default 0: exact)")
    double atol;

    @Option(names = "--rtol", paramLabel = "X", defaultValue = "0", description = "relative tolerance: elements with |a-b| <= atol + rtol*|b| are equal (default 0)")
    double rtol;

    @Option(names = "--filter", paramLabel = "GLOB", description = "only tensors whose shared name or either own name matches (* and ?)")
    String filter;

    @Option(names = "--optimizer", description = "also compare optimizer state (fp32 master weights, Adam moments), by key")
    boolean optimizer;

    @Option(names = "--threads", paramLabel = "N", description = "tensors compared at once (default: cores, at most 8)")
    Integer threads;

    @Option(names = "--all", description = "list every tensor, also the identical ones")
    boolean all;

    @CommandLine.Mixin
    EngineOption engineOption = new EngineOption();

    @Override
    public Integer call() {
        DiffOptions o;
        try {
            o = DiffOptions.defaults().withTolerances(atol, rtol).withFilter(KeyGlob.of(filter)).withOptimizer(optimizer);
            if (threads != null) o = o.withThreads(threads);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        VerifyProgress progress = json ? VerifyProgress.NONE : TerminalProgress.forTerminal("diff");
        // The engine reads the blocks (gathers, transposed/strided box copies); the statistics stay in the JVM's doubles.
        try (EngineOption.Opened engine = engineOption.open(spec, o.threads())) {
            DiffReport r = new CheckpointDiff(o.withKernels(engine.kernels())).compare(a, b, progress);
            // tensor names come from the checkpoints: escaped like every human output (JSON escapes its own)
            PrintWriter out = TerminalText.safe(spec.commandLine().getOut());
            // Engines have no reductions: say that the numbers came from the JVM, as convert names its fallbacks.
            String statsNote = "statistics computed on the JVM in double precision (the engine read the blocks)";
            if (json) {
                Map<String, Object> e = new LinkedHashMap<>(engine.json());
                List<String> notes = new ArrayList<>(engine.kernels().notes());
                if (!engine.name().equals("java")) notes.add(statsNote);
                e.put("engine_notes", notes);
                out.println(DiffJson.write(r, e));
            } else {
                print(r, out, all);
                for (String line : engine.summaryLines()) out.println(line);
                if (!engine.name().equals("java")) out.println("engine " + engine.name() + ": " + statsNote);
            }
            out.flush();
            return r.identical() ? ExitCodes.OK : ExitCodes.PROBLEMS;
        }
    }

    static void print(DiffReport r, PrintWriter out, boolean all) {
        out.println("A: " + describe(r.a()) + ", " + r.namingA());
        out.println("B: " + describe(r.b()) + ", " + r.namingB());
        boolean sameNames = r.tensors().stream().allMatch(t -> t.nameA() == null || t.nameB() == null || t.nameA().equals(t.nameB()));
        TextTable table = sameNames
                ? new TextTable("tensor", "status", ">differing", ">max abs diff", ">max rel diff", ">cosine")
                : new TextTable("A", "B", "status", ">differing", ">max abs diff", ">max rel diff", ">cosine");
        int shown = 0;
        for (TensorDiff t : r.tensors()) {
            if (t.same() && !all) continue;
            shown++;
            String status = status(t);
            String[] stats = {t.differing() + "/" + t.numel(), num(t.maxAbsDiff()), num(t.maxRelDiff()), cos(t.cosine())};
            if (t.status() == TensorDiff.Status.ONLY_IN_A || t.status() == TensorDiff.Status.ONLY_IN_B
                    || t.status() == TensorDiff.Status.SHAPE_CHANGED) stats = new String[]{"", "", "", ""};
            if (sameNames) {
                String name = t.nameA() != null ? t.nameA() : t.nameB();
                table.row(InputText.excerpt(name), status, stats[0], stats[1], stats[2], stats[3]);
            } else {
                table.row(or(t.nameA()), or(t.nameB()), status, stats[0], stats[1], stats[2], stats[3]);
            }
        }
        if (shown > 0) table.print(out);
        for (TensorDiff t : r.tensors())
            if (t.firstA() != null && (shown <= 20))
                out.println("  first difference of " + InputText.excerpt(t.name()) + ": A " + InputText.excerpt(t.firstA())
                        + ", B " + InputText.excerpt(t.firstB()));
        long same = r.count(TensorDiff.Status.SAME);
        StringBuilder s = new StringBuilder(r.identical() ? "identical" : "different").append(": ")
                .append(r.tensors().size()).append(" tensors, ").append(same).append(" same");
        for (TensorDiff.Status st : TensorDiff.Status.values())
            if (st != TensorDiff.Status.SAME && r.count(st) > 0) s.append(", ").append(r.count(st)).append(' ').append(st.text());
        if (r.atol() > 0 || r.rtol() > 0) s.append(" (atol ").append(r.atol()).append(", rtol ").append(r.rtol()).append(')');
        out.println(s);
        if (r.optimizerSkipped() > 0)
            out.println(r.optimizerSkipped() + " optimizer state tensors not compared (use --optimizer)");
    }

    private static String status(TensorDiff t) {
        return switch (t.status()) {
            case SHAPE_CHANGED -> "shape " + Arrays.toString(t.shapeA()) + " -> " + Arrays.toString(t.shapeB());
            case DTYPE_CHANGED -> "dtype " + t.dtypeA().torchName() + " -> " + t.dtypeB().torchName() + ", values equal";
            case DIFFERENT -> t.dtypeA() != t.dtypeB() ? "different, dtype " + t.dtypeA().torchName() + " -> " + t.dtypeB().torchName() : "different";
            default -> t.status().text();
        };
    }

    private static String describe(DiffReport.Side s) {
        return s.path() + " (" + s.format() + (s.iteration() == null ? "" : ", iteration " + s.iteration()) + ")";
    }

    /** A tensor name for the table: names come from the checkpoints, so a hostile one is quoted capped (JSON: whole). */
    private static String or(String s) {
        return s == null ? "-" : InputText.excerpt(s);
    }

    private static String num(Double d) {
        return d == null ? "-" : String.format(Locale.ROOT, "%.4g", d);
    }

    private static String cos(Double d) {
        return d == null ? "-" : String.format(Locale.ROOT, "%.6f", d);
    }
}
