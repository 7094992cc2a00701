package ckpt.convert.exec;

import ckpt.convert.plan.PartSpec;
import ckpt.format.FormatException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.InvalidPathException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The shared staging dir of a conversion written in parts: {@code DIR.parts/} next to the output {@code DIR} (the
 * same name for every task, whatever node it runs on), holding
 * <ul>
 *   <li>{@code plan.json}: the plan fingerprint and part count, created by the first part to start (a hard link
 *       of a private temp file, so two tasks racing cannot both create it);</li>
 *   <li>{@code out/}: the output being built, published by {@code --finish} with one rename;</li>
 *   <li>{@code part-0000I-of-0000N.done.json}: part I's completion marker (the regions it wrote, their sizes and
 *       CRC-32s), written last, after its data are forced to storage, with temp + rename.</li>
 * </ul>
 * A part deletes its own marker before it writes, so a part killed midway is seen as missing, never as complete.
 */
final class PartStaging {
    static final String PLAN = "plan.json";
    static final String OUT = "out";
    /** 2: every region carries the CRC-32 of its bytes, which --finish reads back. */
    static final String SCHEMA = "ckpt.convert.parts/2";
    /** Markers and plan files are small; anything larger is not ours. */
    private static final long MAX_JSON = 64L << 20;
    private static final ObjectMapper JSON = new ObjectMapper()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    static {
        JSON.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(16).build());
    }

    /** {@code plan.json}: what every part of this staging dir must share. */
    record Header(String schema, String fingerprint, int parts, String format) {
    }

    /** A part's completion marker. */
    record Marker(String schema, String fingerprint, int part, int parts, List<PartRegion> regions) {
    }

    private final Path target;
    private final Path dir;
    /** Forces markers, directories and the published output; forces nothing with {@code --no-fsync}. */
    private final ckpt.format.Writeback writeback;

    private PartStaging(Path target, ckpt.format.Writeback writeback) {
        this.writeback = writeback;
        this.target = target.toAbsolutePath().normalize();
        Path parent = this.target.getParent();
        if (parent == null) throw new IllegalArgumentException("cannot write to the file system root");
        this.dir = parent.resolve(this.target.getFileName() + ".parts");
    }

    static PartStaging of(Path target) {
        return of(target, true);
    }

    /** @param durable whether markers and the published output are forced to storage (false: {@code --no-fsync}) */
    static PartStaging of(Path target, boolean durable) {
        return new PartStaging(target, ckpt.format.Writeback.none().durable(durable));
    }

    Path dir() {
        return dir;
    }

    Path out() {
        return dir.resolve(OUT);
    }

    Path target() {
        return target;
    }

    Path marker(int part, int parts) {
        return dir.resolve(String.format(Locale.ROOT, "part-%05d-of-%05d.done.json", part, parts));
    }

    /**
     * Refuses a staging dir left by a {@code --finish} that published {@code DIR} (renaming {@code out/} to it) and was
     * stopped before deleting the staging dir: its plan and markers describe an output that is no longer in it, so a
     * part would join it and a finish would report the other parts as damaged. Nothing is deleted for the user: the
     * message says what happened and what to do.
     */
    void checkNotLeftOver() throws IOException {
        if (!Files.isRegularFile(dir.resolve(PLAN), LinkOption.NOFOLLOW_LINKS) || Files.exists(out(), LinkOption.NOFOLLOW_LINKS)) return;
        boolean published = Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS);
        throw new FormatException(dir, "left over from a --finish that "
                + (published ? "published " + target + " (complete) and" : "renamed its output away and")
                + " was stopped before deleting this staging dir; delete " + dir.getFileName()
                + (published ? "" : " and run the parts again") + " (nothing was changed)");
    }

    /**
     * A part joins the staging dir: creates it with this plan, or checks that it was created for this plan and
     * part count (a different count or plan would mix bytes of two layouts).
     */
    void join(String fingerprint, int parts, String format) throws IOException {
        Files.createDirectories(out());
        Path plan = dir.resolve(PLAN);
        Header mine = new Header(SCHEMA, fingerprint, parts, format);
        if (!Files.exists(plan, LinkOption.NOFOLLOW_LINKS)) {
            Path tmp = Files.createTempFile(dir, ".plan-", ".tmp");
            try {
                Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(mine));
                Files.createLink(plan, tmp);
            } catch (FileAlreadyExistsException raced) {
                // another task created it first: checked below like any existing plan
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        Header h = header().orElseThrow(() -> new FormatException(plan, "vanished while parts were starting"));
        if (h.parts() != parts)
            throw new FormatException(dir, "holds a conversion in " + h.parts() + " parts, this task asks for " + parts
                    + " (use --part I/" + h.parts() + ", or delete the staging dir to start over)");
        if (!fingerprint.equals(h.fingerprint()))
            throw new FormatException(dir, "holds parts of a different plan (fingerprint " + h.fingerprint() + ", this one is "
                    + fingerprint + "): another source, format or option; delete the staging dir to start over");
    }

    Optional<Header> header() throws IOException {
        Path plan = dir.resolve(PLAN);
        if (!Files.isRegularFile(plan, LinkOption.NOFOLLOW_LINKS)) return Optional.empty();
        Header h = read(plan, Header.class);
        if (!SCHEMA.equals(h.schema()) || h.fingerprint() == null || h.parts() < 1 || h.parts() > PartSpec.MAX_PARTS)
            throw new FormatException(plan, "not a ckpt parts plan (schema " + SCHEMA + ")");
        return Optional.of(h);
    }

    /** Removes part {@code p}'s marker: from now on the part counts as not done until it completes again. */
    void clearMarker(PartSpec p) throws IOException {
        Files.deleteIfExists(marker(p.index(), p.count()));
        fsyncDir();
    }

    /** Written only after the part's data are durable: temp file, forced, renamed over, dir forced (no forces with {@code --no-fsync}). */
    void writeMarker(PartSpec p, String fingerprint, List<PartRegion> regions) throws IOException {
        Path m = marker(p.index(), p.count());
        Path tmp = Files.createTempFile(dir, ".marker-", ".tmp");
        try {
            Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(
                    new Marker(SCHEMA, fingerprint, p.index(), p.count(), regions)));
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                writeback.track(m, ch).force(); // a failure names the marker
            }
            Files.move(tmp, m, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        fsyncDir();
    }

    Optional<Marker> readMarker(int part, int parts) throws IOException {
        Path m = marker(part, parts);
        if (!Files.isRegularFile(m, LinkOption.NOFOLLOW_LINKS)) return Optional.empty();
        Marker k = read(m, Marker.class);
        if (!SCHEMA.equals(k.schema()) || k.regions() == null || k.regions().contains(null))
            throw new FormatException(m, "not a ckpt part marker (schema " + SCHEMA + ")");
        for (PartRegion r : k.regions()) {
            try {
                out().resolve(r.file());
            } catch (InvalidPathException e) {
                throw new FormatException(m, "not a ckpt part marker: it names an impossible file " + e.getMessage());
            }
        }
        return Optional.of(k);
    }

    /** Renames {@code out/} to the target (replacing it if asked), then deletes the staging dir. */
    void publish() throws IOException {
        OutputDirGuard.mark(out()); // like a single-process output: --force may replace it later
        StagingDir.publish(out(), target, () -> { }, writeback);
        StagingDir.deleteTree(dir);
    }

    private <T> T read(Path file, Class<T> type) throws IOException {
        if (Files.size(file) > MAX_JSON) throw new FormatException(file, "larger than " + MAX_JSON + " bytes: not ours");
        try {
            return JSON.readValue(file.toFile(), type);
        } catch (NoSuchFileException e) {
            throw e;
        } catch (IOException e) {
            throw new FormatException(file, (e instanceof com.fasterxml.jackson.core.JsonProcessingException ? "not a ckpt parts file: " : "unreadable: ")
                    + ckpt.format.JsonErrors.describe(e));
        }
    }

    private void fsyncDir() {
        writeback.forceDirectory(dir);
    }
}
