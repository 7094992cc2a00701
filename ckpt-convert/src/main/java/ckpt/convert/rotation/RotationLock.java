package ckpt.convert.rotation;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

/**
 * An exclusive lock on {@code SAVE_DIR/.ckpt-rotate.lock}, so two rotations never plan or delete at once. The OS
 * releases it when the process dies, so a crash never leaves a stale lock. The (empty) lock file itself is left in
 * place: deleting it would let a waiting rotation lock a file that a third one has already replaced.
 */
public final class RotationLock implements AutoCloseable {
    public static final String FILE_NAME = ".ckpt-rotate.lock";
    private static final long POLL_MILLIS = 200;

    private final FileChannel channel;
    private final FileLock lock;

    private RotationLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes the lock, waiting up to {@code wait} for another rotation to finish.
     *
     * @throws RotationLockedException when it is still held after {@code wait}
     */
    public static RotationLock acquire(Path saveDir, Duration wait) throws IOException {
        Path file = saveDir.resolve(FILE_NAME);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS);
        try {
            long deadline = System.nanoTime() + wait.toNanos();
            while (true) {
                FileLock l = tryLock(ch);
                if (l != null) return new RotationLock(ch, l);
                if (System.nanoTime() - deadline >= 0) {
                    throw new RotationLockedException(file, "another ckpt rotate holds this lock"
                            + (wait.isZero() ? "; pass --wait DURATION to wait for it" : " after waiting " + Durations.format(wait)));
                }
                Thread.sleep(Math.min(POLL_MILLIS, Math.max(1, (deadline - System.nanoTime()) / 1_000_000)));
            }
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            ch.close();
            throw new RotationLockedException(file, "interrupted while waiting for the rotate lock");
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static FileLock tryLock(FileChannel ch) throws IOException {
        try {
            return ch.tryLock();
        } catch (OverlappingFileLockException heldByThisProcess) {
            return null;
        }
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
