package ckpt.convert.rotation;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * One checkpoint directory in a save dir, as rotation sees it.
 *
 * @param name       the entry's name in the save dir (the marked name for {@link CheckpointState#DELETING})
 * @param kind       who wrote it, from the name
 * @param iteration  training iteration / step (0 for Megatron {@code release})
 * @param state      complete, incomplete or deleting
 * @param layout     layout found inside ({@link Layout#UNKNOWN} for marked entries, which are not inspected)
 * @param problems   why it is incomplete; empty otherwise
 * @param sizeBytes  total size of the regular files under it (symlinks are not followed)
 * @param modified   newest modification time of the directory and anything under it
 * @param latest     a tracker file names this checkpoint as the latest
 * @param symlink    the entry itself is a symbolic link (rotation unlinks it and never touches its target)
 */
public record CheckpointEntry(String name, CheckpointKind kind, long iteration, CheckpointState state, Layout layout,
                              List<String> problems, long sizeBytes, Instant modified, boolean latest,
                              boolean symlink) {
    public CheckpointEntry {
        Objects.requireNonNull(name);
        Objects.requireNonNull(kind);
        Objects.requireNonNull(state);
        Objects.requireNonNull(layout);
        Objects.requireNonNull(modified);
        problems = List.copyOf(problems);
    }

    public boolean isComplete() {
        return state == CheckpointState.COMPLETE;
    }

    public boolean isRelease() {
        return kind == CheckpointKind.MEGATRON_RELEASE;
    }
}
