package ckpt.convert.rotation;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** Lists the checkpoints of a save dir. Reads only; never writes. */
public final class SaveDirLister {
    private final CompletenessCheck check;

    public SaveDirLister(CompletenessCheck check) {
        this.check = check;
    }

    public SaveDirLister() {
        this(new FileLevelCompletenessCheck());
    }

    /**
     * @throws NoSuchFileException   when {@code saveDir} does not exist
     * @throws NotDirectoryException when it is not a directory
     */
    public SaveDirListing list(Path saveDir) throws IOException {
        Path root = saveDir.toRealPath();
        if (!Files.isDirectory(root)) throw new NotDirectoryException(saveDir.toString());
        List<Tracker> trackers = Tracker.readAll(root);
        List<CheckpointEntry> entries = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            for (Path p : ds) {
                Optional<CheckpointName> name = CheckpointName.parse(p.getFileName().toString());
                if (name.isEmpty()) continue;
                entry(p, name.get(), trackers).ifPresent(entries::add);
            }
        }
        entries.sort(Comparator.comparingLong(CheckpointEntry::iteration).thenComparing(CheckpointEntry::name));
        return new SaveDirListing(root, entries, trackers);
    }

    private Optional<CheckpointEntry> entry(Path p, CheckpointName name, List<Tracker> trackers) throws IOException {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException gone) {
            return Optional.empty(); // removed while we listed
        }
        boolean symlink = attrs.isSymbolicLink();
        if (!attrs.isDirectory() && !(symlink && (name.marked() || Files.isDirectory(p)))) return Optional.empty();

        TreeStats stats = TreeStats.of(p);
        boolean latest = trackers.stream().anyMatch(t -> t.names(name));
        if (name.marked()) {
            return Optional.of(new CheckpointEntry(name.name(), name.kind(), name.iteration(), CheckpointState.DELETING,
                    Layout.UNKNOWN, List.of(), stats.bytes, stats.modified, false, symlink));
        }
        CompletenessCheck.Status status;
        try {
            status = check.check(p);
        } catch (IOException e) {
            status = CompletenessCheck.Status.incomplete(Layout.UNKNOWN, List.of("cannot be scanned: " + e.getMessage()));
        }
        return Optional.of(new CheckpointEntry(name.name(), name.kind(), name.iteration(),
                status.complete() ? CheckpointState.COMPLETE : CheckpointState.INCOMPLETE, status.layout(),
                status.problems(), stats.bytes, stats.modified, latest, symlink));
    }

    /** Total regular-file bytes and newest mtime under a path, without following symlinks. */
    private static final class TreeStats extends SimpleFileVisitor<Path> {
        long bytes;
        Instant modified = Instant.EPOCH;

        static TreeStats of(Path root) throws IOException {
            TreeStats s = new TreeStats();
            Files.walkFileTree(root, s); // no FOLLOW_LINKS: a link is seen as itself
            return s;
        }

        private void touch(FileTime t) {
            Instant i = t.toInstant();
            if (i.isAfter(modified)) modified = i;
        }

        @Override
        public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
            touch(attrs.lastModifiedTime());
            return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
            touch(attrs.lastModifiedTime());
            if (attrs.isRegularFile()) bytes += attrs.size();
            return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path file, IOException exc) {
            return FileVisitResult.CONTINUE; // vanished or unreadable while a save or rotation runs: skip it
        }
    }
}
