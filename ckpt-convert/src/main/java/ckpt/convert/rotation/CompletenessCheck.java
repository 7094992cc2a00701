package ckpt.convert.rotation;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Decides whether a checkpoint directory holds everything its layout needs. Rotation only ever removes complete
 * checkpoints (and, when asked, old incomplete ones), so a check must err towards "incomplete" when unsure.
 *
 * <p>{@link FileLevelCompletenessCheck} looks at file names only. A deeper check (every file that {@code .metadata}
 * references exists and is long enough) plugs in through {@link #then(CompletenessCheck)}: it runs only on
 * directories that the file-level check already found complete.
 */
@FunctionalInterface
public interface CompletenessCheck {

    /**
     * Checks one checkpoint directory. A damaged checkpoint is reported as an incomplete {@link Status}, not
     * thrown; an {@link IOException} means the directory could not be scanned at all (the caller then treats the
     * checkpoint as incomplete).
     */
    Status check(Path checkpointDir) throws IOException;

    /** This check, then {@code deeper} on whatever this one found complete; the layout stays this check's. */
    default CompletenessCheck then(CompletenessCheck deeper) {
        Objects.requireNonNull(deeper);
        return dir -> {
            Status first = check(dir);
            if (!first.complete()) return first;
            Status second = deeper.check(dir);
            return new Status(second.complete(), first.layout(), second.problems());
        };
    }

    /**
     * @param complete true when nothing is missing
     * @param layout   the layout found (a deeper check keeps the file-level one)
     * @param problems one short phrase per missing or unreadable thing; empty iff complete
     */
    record Status(boolean complete, Layout layout, List<String> problems) {
        public Status {
            Objects.requireNonNull(layout);
            problems = List.copyOf(problems);
            if (complete != problems.isEmpty()) {
                throw new IllegalArgumentException("a complete status has no problems, an incomplete one has some");
            }
        }

        public static Status complete(Layout layout) {
            return new Status(true, layout, List.of());
        }

        public static Status incomplete(Layout layout, List<String> problems) {
            return new Status(false, layout, problems);
        }
    }
}
