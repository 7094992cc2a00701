package ckpt.format.deepspeed;

import ckpt.format.InputText;
import ckpt.format.FormatException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A DeepSpeed save directory: tag directories ({@code global_stepN/} by default; any name a job passes as
 * {@code tag}) and the {@code latest} file naming the last complete one, written by rank 0 after every rank saved
 * ({@code DeepSpeedEngine.save_checkpoint}). {@code ds_to_universal.py} adds {@code global_stepN_universal/} and
 * {@code latest_universal}. Like DeepSpeed's loader, {@code latest} decides; tag dirs are only listed.
 */
public record DeepSpeedDir(Path dir, Optional<String> latest, List<Tag> tags) {
    public static final String LATEST = "latest";
    public static final String LATEST_UNIVERSAL = "latest_universal";
    /** A tag name is one path component; anything longer than this in a tracker file is not a tag. */
    private static final int MAX_TRACKER_BYTES = 4096;
    private static final Pattern STEP = Pattern.compile("global_step(\\d{1,18})(_universal)?");

    /** One {@code global_stepN[_universal]} directory. */
    public record Tag(String name, long step, boolean universal, Path path) {
    }

    public static DeepSpeedDir open(Path dir) {
        Optional<String> latest = readTracker(dir.resolve(LATEST));
        if (latest.isEmpty()) latest = readTracker(dir.resolve(LATEST_UNIVERSAL));
        List<Tag> tags = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (!Files.isDirectory(p)) continue;
                Matcher m = STEP.matcher(p.getFileName().toString());
                if (m.matches()) tags.add(new Tag(m.group(0), Long.parseLong(m.group(1)), m.group(2) != null, p));
            }
        } catch (IOException e) {
            throw new FormatException(dir, "cannot list directory: " + e.getMessage(), e);
        }
        tags.sort(Comparator.comparingLong(Tag::step).thenComparing(Tag::name));
        return new DeepSpeedDir(dir, latest, List.copyOf(tags));
    }

    /** The tag a tracker file names, stripped; empty when there is no such file. */
    public static Optional<String> readTracker(Path file) {
        if (!Files.isRegularFile(file)) return Optional.empty();
        try {
            if (Files.size(file) > MAX_TRACKER_BYTES)
                throw new FormatException(file, "tracker file is " + Files.size(file) + " bytes: not a tag name");
            String tag = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (tag.isEmpty()) throw new FormatException(file, "tracker file is empty: it names no tag");
            // a NUL or other control character is no tag DeepSpeed writes (and NUL no file name at all)
            if (tag.contains("/") || tag.contains("\\") || tag.equals("..") || tag.equals(".") || tag.chars().anyMatch(Character::isISOControl))
                throw new FormatException(file, "tracker names '" + InputText.excerpt(tag.replaceAll("\\p{Cntrl}", "?"))
                        + "', which is not a directory name");
            return Optional.of(tag);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new FormatException(file, "tracker file is not UTF-8 text: not a tag name", e);
        } catch (IOException e) {
            throw new FormatException(file, "cannot read: " + e.getMessage(), e);
        }
    }

    /** The tag directory to read: the one {@code latest} (or {@code latest_universal}) names, else the highest step. */
    public Path latestTag() {
        if (latest.isPresent()) {
            Path p = dir.resolve(latest.get());
            if (!Files.isDirectory(p))
                throw new FormatException(dir.resolve(Files.isRegularFile(dir.resolve(LATEST)) ? LATEST : LATEST_UNIVERSAL),
                        "names tag '" + InputText.excerpt(latest.get()) + "' but " + InputText.excerpt(latest.get()) + "/ does not exist");
            return p;
        }
        if (tags.isEmpty()) throw new FormatException(dir, "no 'latest' file and no global_step* directory");
        return tags.getLast().path();
    }

    /** Whether a directory holds DeepSpeed rank files itself (a tag dir, not a save dir). */
    public static boolean isTagDir(Path dir) {
        if (Files.isDirectory(dir.resolve("zero"))) return true;
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(p -> ZeroFileName.parse(p.getFileName().toString()).isPresent());
        } catch (IOException e) {
            return false;
        }
    }
}
