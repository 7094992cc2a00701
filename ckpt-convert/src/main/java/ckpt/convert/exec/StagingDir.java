package ckpt.convert.exec;

import ckpt.format.Writeback;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The output is written into {@code DIR.tmp-<random>} next to {@code DIR} and renamed into place only when
 * complete, so a failed or interrupted run never leaves something that looks finished. An existing {@code DIR} is
 * refused unless replacing was asked for; then it is moved aside, the new one renamed in, and the old one deleted.
 * A shutdown hook deletes the staging dir if the JVM exits (Ctrl-C) before the commit.
 */
public final class StagingDir implements AutoCloseable {
    private final Path target;
    private final Path staging;
    private final Thread hook;
    private final Object lock = new Object();
    private boolean committed;
    private boolean aborted;

    private StagingDir(Path target, Path staging) {
        this.target = target;
        this.staging = staging;
        this.hook = new Thread(this::abort, "ckpt-convert-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Checks the target and creates the staging dir. */
    public static StagingDir create(Path target, boolean replace) throws IOException {
        Path t = checkTarget(target, replace);
        Path parent = t.getParent();
        if (parent == null) throw new IOException("cannot write to the file system root");
        Files.createDirectories(parent);
        StagingOwner.removeStale(t, StagingOwner.ProcessLookup.LIVE); // left by a killed run of this conversion
        Path staging = parent.resolve(t.getFileName() + StagingOwner.STAGING_INFIX + random());
        Files.createDirectory(staging);
        StagingDir s = new StagingDir(t, staging);
        try {
            StagingOwner.current().write(staging);
            OutputDirGuard.mark(staging);
        } catch (IOException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /** The absolute target, if it may be written: absent, or a directory that may be replaced. */
    public static Path checkTarget(Path target, boolean replace) throws IOException {
        Path t = target.toAbsolutePath().normalize();
        if (Files.exists(t, LinkOption.NOFOLLOW_LINKS)) {
            if (!replace) throw new FileAlreadyExistsException(t.toString(), null, "output directory exists (use --force to replace it)");
            if (!Files.isDirectory(t, LinkOption.NOFOLLOW_LINKS)) throw new NotDirectoryException(t.toString());
        }
        return t;
    }

    private static String random() {
        byte[] b = new byte[6];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    public Path dir() {
        return staging;
    }

    public Path target() {
        return target;
    }

    /** Renames the staging dir to the target (moving an existing target aside, then deleting it), forced to storage. */
    public void commit() throws IOException {
        commit(Writeback.none());
    }

    /**
     * As {@link #commit()}, forcing files and directories through {@code writeback} (the output's: one that is not
     * {@link Writeback#durable() durable} forces nothing, {@code --no-fsync}).
     */
    public void commit(Writeback writeback) throws IOException {
        synchronized (lock) {
            if (aborted) throw new IOException("conversion interrupted");
            publish(staging, target, () -> committed = true, writeback);
        }
    }

    /**
     * Renames a complete {@code staging} dir to {@code target}, moving an existing target aside first and deleting
     * it after; {@code onPublished} runs right after the rename. Every file and directory of the output is forced to
     * storage before the rename and the parent after it, so what is published survives a crash: the writers forced
     * their data files already (a clean file forces at once); this covers the small files written last (indexes,
     * configs, {@code .metadata}) and the directory entries. The forces go through {@code writeback}: with
     * {@code --no-fsync} there are none, and only the rename's atomicity (a crash of the process never leaves a
     * partial output under the target's name) remains, not survival of a power loss.
     */
    static void publish(Path staging, Path target, Runnable onPublished, Writeback writeback) throws IOException {
        Files.deleteIfExists(staging.resolve(StagingOwner.FILE)); // complete: no longer a staging dir
        if (writeback.durable()) forceTree(staging, writeback);
        Path old = null;
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            old = target.resolveSibling(target.getFileName() + ".old-" + random());
            Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
        }
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        writeback.forceDirectory(target.getParent());
        onPublished.run();
        if (old != null) deleteTree(old);
    }

    /** Forces every regular file of the tree, then every directory (its entries); a file that fails is named. */
    private static void forceTree(Path root, Writeback writeback) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (attrs.isRegularFile()) {
                    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                        writeback.track(file, ch).force();
                    }
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                if (exc != null) throw exc;
                writeback.forceDirectory(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private void abort() {
        synchronized (lock) {
            if (committed || aborted) return;
            aborted = true;
            try {
                deleteTree(staging);
            } catch (IOException ignored) {
                // best effort on the way out; the name says it is a leftover
            }
        }
    }

    /** Deletes the staging dir unless committed. */
    @Override
    public void close() throws IOException {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or will run
        }
        synchronized (lock) {
            if (committed || aborted) return;
            aborted = true;
            deleteTree(staging);
        }
    }

    /** Deletes a tree without following symbolic links. */
    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) return;
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                if (exc != null) throw exc;
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
