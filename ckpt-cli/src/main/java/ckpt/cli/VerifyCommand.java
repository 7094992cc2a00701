package ckpt.cli;

import ckpt.convert.analysis.InspectJson;
import ckpt.convert.analysis.Problem;
import ckpt.convert.analysis.Verifier;
import ckpt.convert.analysis.VerifyProgress;
import ckpt.convert.analysis.VerifyReport;
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

    @Parameters(index = "0", paramLabel = "PATH", description = "a Megatron save dir (its latest iteration), an iter_* dir (torch_dist or legacy mp_rank_*), a DCP dir, a torch.save file, a safetensors file or Hugging Face dir")
    Path path;

    @Option(names = "--deep", description = "read every byte: zip CRC-32s, chunk decoding, integrity.json SHA-256")
    boolean deep;

    @Option(names = "--json", description = "print JSON (schema ckpt.verify/1, docs/INSPECT_JSON.md)")
    boolean json;

    @Override
    public Integer call() {
        VerifyProgress progress = deep ? TerminalProgress.forTerminal() : VerifyProgress.NONE;
        VerifyReport r = new Verifier(deep, progress).verify(path);
        PrintWriter out = TerminalText.safe(spec.commandLine().getOut());
        if (json) out.println(InspectJson.write(r));
        else print(r, out);
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
                        + c.filesHashed() + " files SHA-256 checked, " + c.bytesRead() + " bytes read");
        }
        if (r.sound()) {
            out.println("sound");
            return;
        }
        out.println(r.problems().size() + (r.problems().size() == 1 ? " problem:" : " problems:"));
        for (Problem p : r.problems()) out.println("  " + p);
    }
}
