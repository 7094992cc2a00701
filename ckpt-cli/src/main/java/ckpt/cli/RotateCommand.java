package ckpt.cli;

import ckpt.convert.analysis.Units;
import ckpt.convert.rotation.Decision;
import ckpt.convert.rotation.Durations;
import ckpt.convert.rotation.Reason;
import ckpt.convert.rotation.Removal;
import ckpt.convert.rotation.RetentionPolicy;
import ckpt.convert.rotation.Rotator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.stream.Collectors;

/** {@code ckpt rotate SAVE_DIR --keep-last N ...}: removes old checkpoints, safely. */
@Command(name = "rotate",
        mixinStandardHelpOptions = true,
        description = {"Remove old checkpoints from a save dir, keeping the newest N complete ones, every K-th, and "
                + "named ones. Always kept: the tracker's latest, the newest complete checkpoint, every incomplete "
                + "one newer than it, and Megatron release. Victims are renamed to .deleting.<name> first, then "
                + "deleted without following symlinks, under a lock file (.ckpt-rotate.lock). See docs/ROTATION.md."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done (also when nothing had to go; always for --dry-run)",
                "1:some removal failed (listed on stderr), the lock is held, or a tracker file is unreadable",
                "2:usage error"})
final class RotateCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SAVE_DIR", description = "the training job's save dir (--save)")
    Path saveDir;

    @Option(names = "--keep-last", required = true, paramLabel = "N", description = "keep the newest N complete checkpoints (N >= 1)")
    int keepLast;

    @Option(names = "--keep-every", paramLabel = "K", description = "also keep complete checkpoints whose iteration is a multiple of K")
    long keepEvery;

    @Option(names = "--keep", paramLabel = "ITER", split = ",", description = "also keep these iterations (repeat or comma-separate)")
    List<Long> keep = List.of();

    @Option(names = "--remove-incomplete", description = "also remove incomplete checkpoints older than the newest complete one")
    boolean removeIncomplete;

    @Option(names = "--min-age", paramLabel = "DURATION", converter = DurationConverter.class, defaultValue = "1h",
            description = "with --remove-incomplete: only those untouched for this long (90s, 30m, 1h, 2d; default ${DEFAULT-VALUE})")
    Duration minAge;

    @Option(names = "--wait", paramLabel = "DURATION", converter = DurationConverter.class, defaultValue = "0s",
            description = "wait this long for another rotate's lock (default: fail at once)")
    Duration lockWait;

    @Option(names = "--dry-run", description = "print the plan and touch nothing")
    boolean dryRun;

    @Option(names = "--json", description = "print JSON (schema ckpt.rotate/1, docs/ROTATION.md)")
    boolean json;

    @Override
    public Integer call() throws Exception {
        RetentionPolicy policy;
        try {
            policy = new RetentionPolicy(keepLast, keepEvery, new HashSet<>(keep), removeIncomplete, minAge);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        Rotator.Result r = new Rotator(Completeness.lister(), java.time.Clock.systemUTC()).rotate(saveDir, policy, dryRun, lockWait);

        PrintWriter out = TerminalText.safe(spec.commandLine().getOut());
        PrintWriter err = TerminalText.safe(spec.commandLine().getErr());
        for (String w : r.warnings()) err.println("ckpt: warning: " + w);
        if (json) {
            out.println(RotationJson.MAPPER.writeValueAsString(VersionedJson.stamp(RotationJson.rotate(r))));
        } else {
            printHuman(r, out);
        }
        for (Removal rm : r.removals()) {
            if (!rm.removed()) err.println("ckpt: could not remove " + rm.name() + ": " + String.join("; ", rm.errors()));
        }
        out.flush();
        err.flush();
        return r.allRemoved() ? ExitCodes.OK : ExitCodes.PROBLEMS;
    }

    private static void printHuman(Rotator.Result r, PrintWriter out) {
        ListCommand.printTrackers(r.listing(), out);
        RetentionPolicy p = r.plan().policy();
        out.println("policy:   keep-last " + p.keepLast()
                + (p.keepEvery() > 0 ? ", keep-every " + p.keepEvery() : "")
                + (p.keep().isEmpty() ? "" : ", keep " + p.keep().stream().sorted().map(String::valueOf).collect(Collectors.joining(",")))
                + (p.removeIncomplete() ? ", remove-incomplete older than " + Durations.format(p.minAge()) : ""));
        if (r.plan().decisions().isEmpty()) {
            out.println("no checkpoints");
            return;
        }
        Map<String, Removal> byName = r.removals().stream().collect(Collectors.toMap(Removal::name, Function.identity()));
        TextTable t = new TextTable("ACTION", "NAME", ">ITERATION", "STATUS", ">SIZE", "RESULT", "REASON");
        long freed = 0;
        int failed = 0;
        for (Decision d : r.plan().decisions()) {
            String result;
            if (!d.remove()) result = "kept";
            else if (r.dryRun()) result = "planned";
            else if (byName.get(d.entry().name()).removed()) {
                result = "removed";
                freed += d.entry().sizeBytes();
            } else {
                result = "FAILED";
                failed++;
            }
            t.row(d.remove() ? "remove" : "keep", d.entry().name(), Long.toString(d.entry().iteration()),
                    d.entry().state().id(), Units.bytes(d.entry().sizeBytes()), result,
                    d.reasons().stream().map(Reason::text).collect(Collectors.joining("; ")));
        }
        t.print(out);
        int n = r.plan().removals().size();
        if (r.dryRun()) {
            out.println("dry run: would remove " + n + " of " + r.plan().decisions().size() + " checkpoints, freeing "
                    + Units.bytes(r.plan().bytesToFree()) + "; nothing was touched");
        } else {
            out.println("removed " + (n - failed) + " of " + n + " planned, freed " + Units.bytes(freed)
                    + (failed > 0 ? "; " + failed + " FAILED (see stderr)" : ""));
        }
    }
}
