package ckpt.cli;

import ckpt.convert.exec.StagingOwner;
import ckpt.convert.analysis.Units;
import ckpt.convert.rotation.CheckpointEntry;
import ckpt.convert.rotation.SaveDirListing;
import ckpt.convert.rotation.Tracker;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.Callable;

/** {@code ckpt list SAVE_DIR}: one row per checkpoint in a training save dir. */
@Command(name = "list",
        mixinStandardHelpOptions = true,
        description = {"List the checkpoints in a save dir: Megatron iter_* and release, DeepSpeed global_step*, "
                + "DCP step dirs; their iteration, status (complete / incomplete / deleting), size, modification "
                + "time, and which one the tracker file names as latest. Reads only."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:listed", "1:the save dir cannot be read", "2:usage error"})
final class ListCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SAVE_DIR", description = "the training job's save dir (--save)")
    Path saveDir;

    @Option(names = "--json", description = "print JSON (schema ckpt.list/1, docs/ROTATION.md)")
    boolean json;

    @Override
    public Integer call() throws Exception {
        SaveDirListing listing = Completeness.lister().list(saveDir);
        PrintWriter out = TerminalText.safe(spec.commandLine().getOut());
        if (json) {
            out.println(RotationJson.MAPPER.writeValueAsString(VersionedJson.stamp(RotationJson.list(listing))));
        } else {
            printTable(listing, out);
            printStaging(listing, out);
        }
        out.flush();
        return ExitCodes.OK;
    }

    static void printTrackers(SaveDirListing listing, PrintWriter out) {
        out.println("save dir: " + listing.saveDir());
        if (listing.trackers().isEmpty()) out.println("tracker:  none (no latest_checkpointed_iteration.txt or latest)");
        for (Tracker t : listing.trackers()) {
            String what = !t.usable() ? "UNUSABLE: '" + t.value() + "' " + t.problem()
                    : t.value() + " -> " + t.names() + (t.exists() ? "" : "  (MISSING: no such checkpoint dir)");
            out.println("tracker:  " + t.file() + ": " + what);
        }
    }

    private static void printTable(SaveDirListing listing, PrintWriter out) {
        printTrackers(listing, out);
        if (listing.entries().isEmpty()) {
            out.println("no checkpoints");
            return;
        }
        TextTable t = new TextTable("NAME", ">ITERATION", "STATUS", "LAYOUT", ">BYTES", ">SIZE", "MODIFIED", "LATEST", "NOTE");
        for (CheckpointEntry e : listing.entries()) {
            t.row(e.name(), Long.toString(e.iteration()), e.state().id(), e.layout().id(), Long.toString(e.sizeBytes()),
                    Units.bytes(e.sizeBytes()), e.modified().truncatedTo(ChronoUnit.SECONDS).toString(),
                    e.latest() ? "*" : "", note(e));
        }
        t.print(out);
    }

    /** Staging dirs of conversions killed before they finished ({@code OUT.tmp-*}), found in the listed dir. */
    private static void printStaging(SaveDirListing listing, PrintWriter out) throws java.io.IOException {
        for (StagingOwner.Leftover l : StagingOwner.find(listing.saveDir(), null)) {
            String owner = l.owner().map(o -> "pid " + o.pid() + " on " + o.host()).orElse("owner unknown");
            out.println("staging: " + l.dir().getFileName() + "  (unfinished ckpt convert, " + owner + ", "
                    + (l.stale() ? "STALE: the process is gone; the next convert to this output removes it" : "owner may still run") + ")");
        }
    }

    static String note(CheckpointEntry e) {
        String s = String.join("; ", e.problems());
        if (e.symlink()) s = s.isEmpty() ? "symlink" : "symlink; " + s;
        return s;
    }
}
