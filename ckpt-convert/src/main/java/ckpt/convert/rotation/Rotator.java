package ckpt.convert.rotation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Runs one rotation of a save dir: lock, list, plan, remove. */
public final class Rotator {
    private final SaveDirLister lister;
    private final Clock clock;

    public Rotator(SaveDirLister lister, Clock clock) {
        this.lister = lister;
        this.clock = clock;
    }

    public Rotator() {
        this(new SaveDirLister(), Clock.systemUTC());
    }

    /**
     * @param listing   what the save dir held when planned
     * @param plan      the decisions
     * @param removals  one per planned removal; empty for a dry run
     * @param dryRun    true when nothing was touched
     * @param warnings  things a user should know that did not stop the rotation (a tracker naming a missing dir)
     */
    public record Result(SaveDirListing listing, RotationPlan plan, List<Removal> removals, boolean dryRun,
                         List<String> warnings) {
        public Result {
            removals = List.copyOf(removals);
            warnings = List.copyOf(warnings);
        }

        public boolean allRemoved() {
            return removals.stream().allMatch(Removal::removed);
        }
    }

    /**
     * A dry run only reads (no lock file is created). A real run holds {@link RotationLock} from listing to the
     * last deletion, waiting up to {@code lockWait} for another rotation.
     *
     * @throws ckpt.format.FormatException  when a tracker file cannot be read as a tracker (then nothing is removed)
     * @throws RotationLockedException      when another rotation holds the lock
     */
    public Result rotate(Path saveDir, RetentionPolicy policy, boolean dryRun, Duration lockWait) throws IOException {
        if (dryRun) return planOnly(saveDir, policy);
        Path root = saveDir.toRealPath();
        if (!Files.isDirectory(root)) throw new NotDirectoryException(saveDir.toString());
        try (RotationLock ignored = RotationLock.acquire(root, lockWait)) {
            Result planned = planOnly(root, policy);
            List<Removal> removals = new SafeDeleter(root).removeAll(planned.plan());
            return new Result(planned.listing(), planned.plan(), removals, false, planned.warnings());
        }
    }

    private Result planOnly(Path saveDir, RetentionPolicy policy) throws IOException {
        SaveDirListing listing = lister.list(saveDir);
        List<String> warnings = new ArrayList<>();
        for (Tracker t : listing.trackers()) {
            if (!t.usable()) throw t.unusableError(listing.saveDir());
            if (!t.exists()) warnings.add(t.file() + " names " + t.names() + ", which does not exist");
        }
        RotationPlan plan = RotationPlanner.plan(listing.entries(), policy, clock.instant());
        return new Result(listing, plan, List.of(), true, warnings);
    }
}
