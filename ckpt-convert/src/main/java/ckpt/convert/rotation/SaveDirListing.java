package ckpt.convert.rotation;

import java.nio.file.Path;
import java.util.List;

/**
 * What a save dir holds: its checkpoints (oldest first) and its tracker files.
 *
 * @param saveDir  the save dir's real path
 * @param entries  checkpoints ordered by iteration, then name
 * @param trackers tracker files present (Megatron first, then DeepSpeed)
 */
public record SaveDirListing(Path saveDir, List<CheckpointEntry> entries, List<Tracker> trackers) {
    public SaveDirListing {
        entries = List.copyOf(entries);
        trackers = List.copyOf(trackers);
    }
}
