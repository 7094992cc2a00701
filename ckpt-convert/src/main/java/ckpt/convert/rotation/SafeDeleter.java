package ckpt.convert.rotation;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Removes checkpoint directories from one save dir, safely:
 * <ol>
 *   <li>the victim is first renamed (atomically, in place) to {@code .deleting.<name>}, so no tool ever sees a
 *       half-deleted checkpoint under a real name, and a crash leaves a marked entry that the next rotate finishes;</li>
 *   <li>the marked tree is deleted bottom-up without following symbolic links: a link inside a victim (or a
 *       victim that is itself a link) is unlinked, its target never visited;</li>
 *   <li>every path touched is checked to lie inside the save dir's real path;</li>
 *   <li>nothing on another file system is touched: a victim holding a mount point (a bind mount inside an iteration
 *       dir would let {@code rm -r} delete files outside the save dir) is reported and kept whole, and the delete
 *       itself never descends into a directory whose device differs from the save dir's.</li>
 * </ol>
 * The caller holds the {@link RotationLock}. Not hardened against another process swapping directories for links
 * inside a victim while it is being deleted.
 */
public final class SafeDeleter {
    private final Path root;
    private final Devices devices;
    private final Object rootDevice;

    /** The file system a path (not followed if a link) lives on; a seam for tests, where bind mounts need root. */
    @FunctionalInterface
    interface Devices {
        Object of(Path p) throws IOException;

        Devices UNIX = p -> {
            try {
                return Files.getAttribute(p, "unix:dev", LinkOption.NOFOLLOW_LINKS);
            } catch (UnsupportedOperationException | IllegalArgumentException e) {
                return Files.getFileStore(p); // no unix view: the file store still tells file systems apart
            }
        };
    }

    /** @param saveDir the save dir; resolved to its real path once, here */
    public SafeDeleter(Path saveDir) throws IOException {
        this(saveDir, Devices.UNIX);
    }

    SafeDeleter(Path saveDir, Devices devices) throws IOException {
        this.root = saveDir.toRealPath();
        this.devices = devices;
        this.rootDevice = devices.of(root);
    }

    public List<Removal> removeAll(RotationPlan plan) {
        List<Removal> out = new ArrayList<>();
        for (Decision d : plan.removals()) out.add(remove(d.entry()));
        return out;
    }

    /** Removes one entry (marked ones are only finished). Never throws for a failed file; reports it. */
    public Removal remove(CheckpointEntry entry) {
        List<String> errors = new ArrayList<>();
        try {
            CheckpointName name = CheckpointName.parse(entry.name())
                    .orElseThrow(() -> new IllegalArgumentException("not a checkpoint name: " + entry.name()));
            Path victim = child(entry.name());
            Path marked = child(name.markedName());
            Path target = name.marked() ? marked : victim;
            Optional<Path> mount = mountPointIn(target);
            if (mount.isPresent()) {
                errors.add(mount.get() + ": another file system is mounted here (a different device from the save dir's): "
                        + "not deleting " + entry.name() + "; unmount it first");
                return new Removal(entry.name(), false, errors);
            }
            if (!name.marked()) {
                if (exists(marked)) deleteTree(marked, errors); // an earlier crash left the same name marked
                if (!errors.isEmpty()) return new Removal(entry.name(), false, errors);
                Files.move(victim, marked, StandardCopyOption.ATOMIC_MOVE);
            }
            deleteTree(marked, errors);
        } catch (IOException | RuntimeException e) {
            errors.add(describe(e));
        }
        return new Removal(entry.name(), errors.isEmpty(), errors);
    }

    /** A direct child of the save dir, refusing anything that is not a plain name. */
    private Path child(String name) {
        Path p = root.resolve(name).normalize();
        if (name.isEmpty() || name.contains("/") || name.contains("\\") || !root.equals(p.getParent())) {
            throw new IllegalArgumentException("refusing to touch '" + name + "': not an entry of " + root);
        }
        return p;
    }

    /** The first directory under {@code top} (itself included) on another device, without following links. */
    private Optional<Path> mountPointIn(Path top) throws IOException {
        if (!exists(top) || Files.isSymbolicLink(top)) return Optional.empty();
        Path[] found = {null};
        Files.walkFileTree(top, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                if (!rootDevice.equals(devices.of(dir))) {
                    found[0] = dir;
                    return FileVisitResult.TERMINATE;
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException exc) {
                return FileVisitResult.CONTINUE; // the delete reports it
            }
        });
        return Optional.ofNullable(found[0]);
    }

    private static boolean exists(Path p) {
        return Files.exists(p, LinkOption.NOFOLLOW_LINKS);
    }

    private void deleteTree(Path top, List<String> errors) throws IOException {
        if (!top.getFileName().toString().startsWith(CheckpointName.MARK_PREFIX) || !root.equals(top.getParent())) {
            throw new IllegalStateException("refusing to delete unmarked or foreign path " + top);
        }
        // No FOLLOW_LINKS: a symbolic link is reported to visitFile and deleted as a link.
        Files.walkFileTree(top, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                requireInside(dir, top);
                try {
                    if (!rootDevice.equals(devices.of(dir))) { // mounted after the check: never descend
                        errors.add(dir + ": another file system is mounted here: not descending into it");
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                } catch (IOException e) {
                    errors.add(describe(e));
                    return FileVisitResult.SKIP_SUBTREE;
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                requireInside(file, top);
                delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException exc) {
                if (!(exc instanceof NoSuchFileException)) errors.add(describe(exc));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) {
                if (exc != null && !(exc instanceof NoSuchFileException)) errors.add(describe(exc));
                delete(dir);
                return FileVisitResult.CONTINUE;
            }

            private void delete(Path p) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    errors.add(describe(e));
                }
            }
        });
    }

    private static void requireInside(Path p, Path top) {
        if (!p.normalize().startsWith(top)) throw new IllegalStateException("path escaped " + top + ": " + p);
    }

    private static String describe(Exception e) {
        if (e instanceof java.nio.file.FileSystemException fs) {
            String reason = fs.getReason() == null ? e.getClass().getSimpleName() : fs.getReason();
            return fs.getFile() + ": " + reason;
        }
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }
}
