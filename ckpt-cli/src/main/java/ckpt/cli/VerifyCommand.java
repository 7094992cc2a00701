package ckpt.cli;

import ckpt.convert.analysis.Units;
import ckpt.convert.analysis.Problem;
import ckpt.convert.analysis.Verifier;
import ckpt.convert.analysis.VerifyProgress;
import ckpt.convert.analysis.VerifyReport;
import ckpt.convert.plan.PartSpec;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code ckpt verify PATH [--deep] [--json]}: is the checkpoint complete and intact? */
@Command(name = "verify",
        mixinStandardHelpOptions = true,
        description = {"Check that a checkpoint is complete and intact. Fast (default): the save finished (.metadata, "
                + "metadata.json, tracker naming an existing iteration), every file the metadata references exists "
                + "and is long enough, every tensor is tiled exactly once by its chunks, every record's zip structure "
                + "is sound. --deep also reads every byte: CRC-32 of every zip entry, every chunk decoded, SHA-256 "
                + "against Megatron's integrity.json when present."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:sound", "1:problems found (each listed: file, key, what is wrong)", "2:usage error"})
final class VerifyCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PATH", description = "a Megatron save dir (its latest iteration), an iter_* dir (torch_dist or legacy mp_rank_*), a DCP dir, a DeepSpeed save dir (its latest tag) or global_step* dir, a torch.save file, a safetensors file or Hugging Face dir")
    Path path;

    @Option(names = "--deep", description = "read every byte: zip CRC-32s, chunk decoding, integrity.json SHA-256")
    boolean deep;

    @Option(names = "--part", paramLabel = "I/N|slurm",
            description = "with --deep: read only part I of N (1-based) of the bytes, byte-balanced, so that N tasks of a job array read "
                    + "every byte once ('slurm': from SLURM_ARRAY_TASK_ID/MIN/MAX or SLURM_PROCID/SLURM_NTASKS); the fast checks run in every part")
    String part;

    @Option(names = "--json", description = "print JSON (schema ckpt.verify/1, docs/INSPECT_JSON.md; with --all a JSON array of them)")
    boolean json;

    @Option(names = "--all", description = "for a Megatron save dir: check every iteration, not only the one the tracker names")
    boolean all;

    @Override
    public Integer call() {
        PartSpec p;
        try {
            if (part != null && !deep) throw new IllegalArgumentException("--part divides the bytes --deep reads: use it with --deep");
            p = part == null ? null : PartSpec.parse(part, System.getenv());
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        VerifyProgress progress = deep ? TerminalProgress.forTerminal() : VerifyProgress.NONE;
        Verifier verifier = new Verifier(deep, progress, p);
        List<VerifyReport> reports = all ? verifier.verifyAll(path) : List.of(verifier.verify(path));
        PrintWriter out = TerminalText.safe(spec.commandLine().getOut());
        if (json) {
            out.println(all ? VersionedJson.writeAll(reports) : VersionedJson.write(reports.getFirst()));
        } else if (all) {
            for (VerifyReport r : reports) print(r, out, List.of());
            long sound = reports.stream().filter(VerifyReport::sound).count();
            out.println(sound + " of " + reports.size() + " checkpoint" + (reports.size() == 1 ? "" : "s") + " sound");
        } else {
            if (p != null) out.println("part " + p + " of the deep checks");
            print(reports.getFirst(), out, Verifier.iterationsOf(path));
        }
        out.flush();
        return reports.stream().allMatch(VerifyReport::sound) ? ExitCodes.OK : ExitCodes.PROBLEMS;
    }

    /** @param iterations a save dir's iterations, to say which ones were not checked (empty: nothing to say) */
    private static void print(VerifyReport r, PrintWriter out, List<Path> iterations) {
        VerifyReport.Checks c = r.checks();
        String what = r.checkpoint() == null ? r.path() : r.checkpoint();
        out.println("verify " + what + (r.format() == null ? "" : " (" + r.format()
                + (r.iteration() == null ? "" : ", iteration " + r.iteration()) + ")") + (r.deep() ? ", deep" : ", fast"));
        if (r.format() != null) {
            out.println("  " + c.dataFiles() + " data files, " + c.records() + " records, " + c.tensors()
                    + " tensors checked for tiling, " + c.zipRecords() + " zip structures parsed");
            if (r.deep())
                out.println("  " + c.crcEntries() + " zip entries CRC-checked, " + c.chunksDecoded() + " chunks decoded, "
                        + c.filesHashed() + " files SHA-256 checked, " + Units.bytes(c.bytesRead()) + " read");
        }
        if (r.checkpoint() != null && !r.checkpoint().equals(r.path())) {
            List<String> others = iterations.stream().filter(p -> !p.toString().equals(r.checkpoint()))
                    .map(p -> p.getFileName().toString()).toList();
            out.println("  checked " + Path.of(r.checkpoint()).getFileName() + ", the iteration the tracker names"
                    + (others.isEmpty() ? "" : "; not checked: " + String.join(", ", others) + " (--all checks every iteration)"));
        }
        for (String n : r.notes()) out.println("  note: " + n);
        if (r.sound()) {
            out.println("sound");
            return;
        }
        out.println(r.problems().size() + (r.problems().size() == 1 ? " problem:" : " problems:"));
        for (Problem p : r.problems()) out.println("  " + p);
    }
}
