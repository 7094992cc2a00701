package ckpt.format.megatron;

import ckpt.format.InputText;
import ckpt.format.FormatException;

import java.io.IOException;
import java.io.UncheckedIOException;
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
 * A Megatron save directory (FORMATS.md §4.1): {@code latest_checkpointed_iteration.txt} naming an iteration (or
 * {@code release}), and {@code iter_XXXXXXX/} / {@code release/} directories. Like Megatron's loader, the latest
 * checkpoint is the one the tracker names; {@code iter_*} dirs are only listed.
 */
public record SaveDir(Path dir, Optional<String> tracker, List<Iteration> iterations) {
    public static final String TRACKER = "latest_checkpointed_iteration.txt";
    private static final Pattern ITER = Pattern.compile("iter_(\\d{7,18})"); // at most 18 digits: a long

    /** One {@code iter_*} or {@code release} directory. Release is iteration 0. */
    public record Iteration(long iteration, String name, Path path, boolean release) {
    }

    public static boolean looksLikeSaveDir(Path dir) {
        if (Files.isRegularFile(dir.resolve(TRACKER))) return true;
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(p -> Files.isDirectory(p) && (ITER.matcher(p.getFileName().toString()).matches()
                    || p.getFileName().toString().equals("release")));
        } catch (IOException e) {
            return false;
        }
    }

    public static SaveDir open(Path dir) {
        Optional<String> tracker = Optional.empty();
        Path t = dir.resolve(TRACKER);
        try {
            ckpt.format.RegularFiles.require(t);
            if (Files.isRegularFile(t)) tracker = Optional.of(readTracker(t));
            List<Iteration> its = new ArrayList<>();
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : (Iterable<Path>) s::iterator) {
                    if (!Files.isDirectory(p)) continue;
                    String n = p.getFileName().toString();
                    Matcher m = ITER.matcher(n);
                    if (m.matches()) its.add(new Iteration(Long.parseLong(m.group(1)), n, p, false));
                    else if (n.equals("release")) its.add(new Iteration(0, n, p, true));
                }
            }
            its.sort(Comparator.comparingLong(Iteration::iteration).thenComparing(Iteration::name));
            return new SaveDir(dir, tracker, List.copyOf(its));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The tracker's text. Megatron reads it as UTF-8 text holding an iteration number; anything else (bytes that are
     * not UTF-8, a file far longer than a number) is a damaged tracker, named as such.
     */
    private static String readTracker(Path t) throws IOException {
        if (Files.size(t) > 4096) throw new FormatException(t, "tracker file is " + Files.size(t) + " bytes long: not an iteration number");
        byte[] b = Files.readAllBytes(t);
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(b)).toString().strip();
        } catch (java.nio.charset.CharacterCodingException e) {
            int at = 0;
            while (at < b.length && b[at] >= 0) at++;
            throw FormatException.atOffset(t, at, "tracker file is not UTF-8 text (byte 0x"
                    + String.format("%02X", b[Math.min(at, b.length - 1)] & 0xFF) + ")");
        }
    }

    /** The iteration the tracker names (error if it names nothing that exists), else the highest iter dir. */
    public Iteration latest() {
        if (tracker.isPresent()) {
            String v = tracker.get();
            if (v.equals("release")) {
                return iterations.stream().filter(Iteration::release).findFirst().orElseThrow(() ->
                        new FormatException(dir.resolve(TRACKER), "tracker names 'release' but there is no release/ directory"));
            }
            long it;
            try {
                it = Long.parseLong(v);
            } catch (NumberFormatException e) {
                throw new FormatException(dir.resolve(TRACKER), "tracker holds '" + InputText.excerpt(v) + "', neither an iteration number nor 'release'");
            }
            return iterations.stream().filter(i -> !i.release() && i.iteration() == it).findFirst().orElseThrow(() ->
                    new FormatException(dir.resolve(TRACKER), "tracker names iteration " + it + " but "
                            + String.format("iter_%07d", it) + "/ does not exist"));
        }
        if (iterations.isEmpty()) throw new FormatException(dir, "no iter_* or release directory in this save dir");
        return iterations.getLast();
    }

    /** Iteration number the tracker names (0 for release), if there is a readable tracker. */
    public Optional<Long> trackerIteration() {
        return tracker.flatMap(v -> {
            if (v.equals("release")) return Optional.of(0L);
            try {
                return Optional.of(Long.parseLong(v));
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        });
    }
}
