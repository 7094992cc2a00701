package ckpt.convert.rotation;

import ckpt.format.FormatException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A "latest" tracker file in a save dir: Megatron's {@code latest_checkpointed_iteration.txt} ("1000" or
 * "release", FORMATS.md §4.1) or DeepSpeed's {@code latest} (a tag such as "global_step1000", §6.1).
 *
 * @param file     the tracker file's name in the save dir
 * @param value    its text, trimmed
 * @param names    the checkpoint directory name it points to; null when the text is unusable
 * @param exists   that directory exists in the save dir
 * @param problem  why the text is unusable (empty, not a number, too long); null when fine
 */
public record Tracker(String file, String value, String names, boolean exists, String problem) {
    public static final String MEGATRON_FILE = "latest_checkpointed_iteration.txt";
    public static final String DEEPSPEED_FILE = "latest";
    /** Trackers are a few bytes; anything longer is not a tracker. */
    private static final int MAX_BYTES = 4096;

    public boolean usable() {
        return problem == null;
    }

    /** Whether this tracker points at {@code entry} (a marked entry is never "named"). */
    public boolean names(CheckpointName entry) {
        if (names == null || entry.marked()) return false;
        if (entry.name().equals(names)) return true;
        // Megatron pads to 7 digits but reads the number: iter_1000 and iter_0001000 are the same iteration.
        Optional<CheckpointName> target = CheckpointName.parse(names);
        return target.isPresent() && target.get().kind() == CheckpointKind.MEGATRON_ITERATION
                && entry.kind() == CheckpointKind.MEGATRON_ITERATION && target.get().iteration() == entry.iteration();
    }

    /** Reads the tracker files present in {@code saveDir} (none, one or both). */
    public static List<Tracker> readAll(Path saveDir) throws IOException {
        List<Tracker> out = new ArrayList<>();
        readText(saveDir.resolve(MEGATRON_FILE)).ifPresent(t -> out.add(
                t.length() > MAX_BYTES ? tooLong(MEGATRON_FILE) : megatron(saveDir, t)));
        readText(saveDir.resolve(DEEPSPEED_FILE)).ifPresent(t -> out.add(
                t.length() > MAX_BYTES ? tooLong(DEEPSPEED_FILE) : deepSpeed(saveDir, t)));
        return out;
    }

    /** Megatron: {@code int(text.strip())}, or exactly "release". */
    static Tracker megatron(Path saveDir, String text) {
        String v = text.strip();
        if (v.isEmpty()) return unusable(MEGATRON_FILE, v, "is empty (being written?)");
        if (v.equals("release")) return pointing(saveDir, MEGATRON_FILE, v, "release");
        if (!v.matches("[0-9]{1,18}")) return unusable(MEGATRON_FILE, v, "is neither an iteration number nor 'release'");
        return pointing(saveDir, MEGATRON_FILE, v, CheckpointName.megatronDirName(Long.parseLong(v)));
    }

    /** DeepSpeed: the tag is the directory name; it must be a plain name inside the save dir. */
    static Tracker deepSpeed(Path saveDir, String text) {
        String v = text.strip();
        if (v.isEmpty()) return unusable(DEEPSPEED_FILE, v, "is empty (being written?)");
        if (v.contains("/") || v.contains("\\") || v.equals(".") || v.equals("..") || v.indexOf('\0') >= 0) {
            return unusable(DEEPSPEED_FILE, v, "does not name a directory in the save dir");
        }
        return pointing(saveDir, DEEPSPEED_FILE, v, v);
    }

    /** The error a rotation raises when it cannot tell what a tracker protects. */
    public FormatException unusableError(Path saveDir) {
        return new FormatException(saveDir.resolve(file), problem + "; rotate removes nothing until it is readable");
    }

    private static Tracker pointing(Path saveDir, String file, String value, String dir) {
        return new Tracker(file, value, dir, Files.exists(saveDir.resolve(dir), LinkOption.NOFOLLOW_LINKS), null);
    }

    private static Tracker unusable(String file, String value, String problem) {
        return new Tracker(file, value, null, false, problem);
    }

    private static Tracker tooLong(String file) {
        return unusable(file, "", "is longer than " + MAX_BYTES + " bytes, not a tracker");
    }

    /** The file's text, or a string longer than {@link #MAX_BYTES} when the file is (content then irrelevant). */
    private static Optional<String> readText(Path file) throws IOException {
        if (!Files.isRegularFile(file)) return Optional.empty();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] b = in.readNBytes(MAX_BYTES + 1);
            if (b.length > MAX_BYTES) return Optional.of("x".repeat(MAX_BYTES + 1));
            return Optional.of(new String(b, StandardCharsets.UTF_8));
        } catch (NoSuchFileException gone) {
            return Optional.empty();
        }
    }
}
