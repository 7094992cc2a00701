package ckpt.cli;

import ckpt.convert.analysis.InspectReport;
import ckpt.convert.index.KeyGlob;
import ckpt.convert.analysis.InspectSummary;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import ckpt.convert.analysis.PickleSafety;
import ckpt.convert.analysis.Problem;
import ckpt.format.pickle.PickleAudit;

import java.io.PrintWriter;
import java.util.List;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code ckpt inspect PATH}: what is in a checkpoint and why it is this big, from metadata alone. */
@Command(name = "inspect",
        mixinStandardHelpOptions = true,
        description = {"Show what a checkpoint holds: format, iteration, model config, parallel layout, files, and "
                + "where every byte goes (weights, fp32 master copy, Adam moments, other state, container "
                + "overhead) against the first-principles estimate. Reads metadata only, never tensor data."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:shown", "1:the path is not a checkpoint ckpt can read (one line says why)", "2:usage error"})
final class InspectCommand implements Callable<Integer> {
    /** Unsafe-global warnings printed before the text report; the rest are counted (verify lists every one). */
    static final int MAX_WARNINGS = 20;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PATH", description = "a Megatron save dir (its latest iteration), an iter_* dir (torch_dist or legacy mp_rank_*), a DCP dir, a DeepSpeed save dir (its latest tag) or global_step* dir, a torch.save file, a safetensors file or Hugging Face dir")
    Path path;

    @Option(names = "--json", description = "print one JSON object (schema ckpt.inspect/1, docs/INSPECT_JSON.md)")
    boolean json;

    @Option(names = "--tensors", description = "list every tensor: key, dtype, global shape, layers, chunks, bytes, by category")
    boolean tensors;

    @Option(names = "--filter", paramLabel = "PATTERN", description = "only tensors and objects whose key contains PATTERN, or matches it as a glob when it has * or ?; implies --tensors")
    String filter;

    @Option(names = "--summary", description = "with --json: the answers without per-tensor and per-file arrays (schema ckpt.inspect-summary/1), small at any scale")
    boolean summary;

    @Option(names = "--files", description = "list every file, in numeric order, instead of groups of like names")
    boolean files;

    @Override
    public Integer call() throws java.io.IOException {
        CheckpointIndex opened;
        List<Problem> unsafe; // at most MAX_WARNINGS printed
        try (MetadataSpinner spinner = MetadataSpinner.start(json ? null : "reading metadata");
             PickleAudit audit = PickleAudit.start()) {
            opened = Checkpoints.open(path);
            unsafe = PickleSafety.problems(audit.findings());
        }
        try (CheckpointIndex index = opened) {
            InspectReport r = InspectReport.of(index, KeyGlob.of(filter));
            PrintWriter out = TerminalText.safe(spec.commandLine().getOut());
            // before anything that looks like an ordinary model: this file is not safe to torch.load
            PrintWriter warn = json ? TerminalText.safe(spec.commandLine().getErr()) : out;
            // a hostile file can reference thousands of globals: stderr (--json) gets one line, stdout a screenful
            int shown = Math.min(unsafe.size(), json ? 1 : MAX_WARNINGS);
            for (int i = 0; i < shown; i++) {
                Problem p = unsafe.get(i);
                String more = json && unsafe.size() > 1 ? " (and " + (unsafe.size() - 1) + " more unsafe globals: ckpt verify lists each)" : "";
                warn.println("WARNING: " + p.file() + ": " + p.what() + more);
            }
            if (!json && unsafe.size() > shown)
                warn.println("WARNING: and " + (unsafe.size() - shown) + " more unsafe globals: ckpt verify lists each");
            warn.flush();
            if (json) VersionedJson.stream(summary ? InspectSummary.of(r) : r, out);
            else new InspectPrinter(r, out).print(new InspectPrinter.Options(tensors || filter != null, files, filter));
            out.flush();
        }
        return ExitCodes.OK;
    }
}
