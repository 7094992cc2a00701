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

    @Option(names = "--json", description = "print JSON (schema ckpt.verify/1, docs/INSPECT_JSON.md)")
    boolean json;

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
        VerifyReport r = new Verifier(deep, progress, p).verify(path);
        PrintWriter out = spec.commandLine().getOut();
        if (json) out.println(VersionedJson.write(r));
        else {
            if (p != null) out.println("part " + p + " of the deep checks");
            print(r, out);
        }
        out.flush();
        return r.sound() ? ExitCodes.OK : ExitCodes.PROBLEMS;
    }

    private static void print(VerifyReport r, PrintWriter out) {
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
        if (r.sound()) {
            out.println("sound");
            return;
        }
        out.println(r.problems().size() + (r.problems().size() == 1 ? " problem:" : " problems:"));
        for (Problem p : r.problems()) out.println("  " + p);
    }
}
