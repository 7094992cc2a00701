package ckpt.convert.rotation;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A save-dir entry name that rotation recognises as a checkpoint, with its iteration.
 *
 * @param name      the entry's name in the save dir (for a marked entry: the marked name)
 * @param original  the checkpoint's own name (equal to {@code name} unless marked)
 * @param kind      who wrote it, told from the name
 * @param iteration the training iteration / step (0 for Megatron {@code release})
 * @param marked    true when the name carries {@link #MARK_PREFIX}: an interrupted rotation's victim
 */
public record CheckpointName(String name, String original, CheckpointKind kind, long iteration, boolean marked) {
    /** Prefix a victim is renamed to before deletion; hidden, so training tools never pick it up. */
    public static final String MARK_PREFIX = ".deleting.";

    // At most 18 digits so the value always fits a long.
    private static final Pattern MEGATRON = Pattern.compile("iter_(\\d{1,18})");
    private static final Pattern DEEPSPEED = Pattern.compile("global_step(\\d{1,18})");
    private static final Pattern STEP = Pattern.compile("(?:step|checkpoint)[-_](\\d{1,18})");

    /** Parses a directory name; empty when it is not a checkpoint name rotation manages. */
    public static Optional<CheckpointName> parse(String name) {
        if (name.startsWith(MARK_PREFIX)) {
            return parseUnmarked(name.substring(MARK_PREFIX.length()))
                    .map(c -> new CheckpointName(name, c.original, c.kind, c.iteration, true));
        }
        return parseUnmarked(name);
    }

    private static Optional<CheckpointName> parseUnmarked(String name) {
        if (name.equals("release")) return Optional.of(new CheckpointName(name, name, CheckpointKind.MEGATRON_RELEASE, 0, false));
        Matcher m;
        if ((m = MEGATRON.matcher(name)).matches()) return Optional.of(of(name, CheckpointKind.MEGATRON_ITERATION, m));
        if ((m = DEEPSPEED.matcher(name)).matches()) return Optional.of(of(name, CheckpointKind.DEEPSPEED, m));
        if ((m = STEP.matcher(name)).matches()) return Optional.of(of(name, CheckpointKind.STEP_DIR, m));
        return Optional.empty();
    }

    private static CheckpointName of(String name, CheckpointKind kind, Matcher m) {
        return new CheckpointName(name, name, kind, Long.parseLong(m.group(1)), false);
    }

    /** The marked name this checkpoint is renamed to before it is deleted. */
    public String markedName() {
        return MARK_PREFIX + original;
    }

    /** Megatron's directory name for an iteration ({@code 'iter_{:07d}'}). */
    public static String megatronDirName(long iteration) {
        return String.format("iter_%07d", iteration);
    }
}
