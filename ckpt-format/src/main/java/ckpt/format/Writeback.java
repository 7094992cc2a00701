package ckpt.format;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Makes an output's files durable while they are still being written. Writers write through a {@link File}; every
 * {@code every} bytes written to a file, one background thread forces that file's data ({@code fdatasync}), so the
 * kernel writes it back while the workers keep converting. Left alone, the kernel starts writeback only past
 * {@code dirty_background_ratio} of memory or after 30 s, so on a node with much memory the whole output stayed
 * dirty until the final force, which then took as long as writing it (docs/BENCHMARKS.md, issue 18). Forcing changes
 * no byte and holds no buffer: the memory bound is the writers'.
 *
 * <p>A failed flush (EIO, ENOSPC of delayed allocation) is remembered for its file and thrown by the file's next
 * write and by its {@link File#force}, as one {@link FileSystemException} that names the file; the caller then
 * publishes nothing. {@link #close} stops the background thread (before the writer closes its channels).
 *
 * <p>A writeback that is not {@link #durable()} ({@code convert --no-fsync}) forces nothing: no background flush, and
 * {@link File#force} and {@link #forceDirectory} return at once. Writers and the publishing step still call them, so
 * the one option decides every force of an output.
 */
public final class Writeback implements AutoCloseable {
    /** Bytes written to a file between background flushes (measured: docs/BENCHMARKS.md, issue 18). */
    public static final long DEFAULT_EVERY = 64L << 20;

    /** How a file is forced: {@link FileChannel#force}; tests give one that fails. */
    @FunctionalInterface
    public interface Flush {
        void force(FileChannel channel, boolean metadata) throws IOException;
    }

    private final long every;
    private final Flush flush;
    private final boolean durable;
    private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final Object stop = new Object();
    private volatile boolean closed;
    private Thread flusher; // started by the first flush asked for

    /** @param every bytes between background flushes of a file; 0 flushes only on {@link File#force} */
    public Writeback(long every, Flush flush) {
        this(every, flush, true);
    }

    private Writeback(long every, Flush flush, boolean durable) {
        if (every < 0) throw new IllegalArgumentException("writeback interval must not be negative");
        this.every = every;
        this.flush = flush;
        this.durable = durable;
    }

    /** This writeback, or one with the same flush that forces nothing ({@code durable} false: {@code --no-fsync}). */
    public Writeback durable(boolean durable) {
        return durable == this.durable ? this : new Writeback(every, flush, durable);
    }

    /** Whether files and directories are forced to storage; false for {@code --no-fsync}. */
    public boolean durable() {
        return durable;
    }

    /**
     * Forces a directory's entries (after files were created or renamed in it). Not every file system lets a
     * directory be forced; a failure is ignored, since the rename it follows is atomic all the same.
     */
    public void forceDirectory(Path dir) {
        if (!durable || dir == null) return;
        try (FileChannel ch = FileChannel.open(dir, java.nio.file.StandardOpenOption.READ)) {
            flush.force(ch, true);
        } catch (IOException ignored) {
            // see above
        }
    }

    /**
     * Background flushes every {@link #DEFAULT_EVERY} bytes; the system property {@code ckpt.writeback} (bytes, 0 =
     * off) overrides it, to benchmark the difference.
     */
    public static Writeback configured() {
        return new Writeback(Long.getLong("ckpt.writeback", DEFAULT_EVERY), FileChannel::force);
    }

    /** No background flushes: writes are forced only by {@link File#force}. */
    public static Writeback none() {
        return new Writeback(0, FileChannel::force);
    }

    /** {@link #configured()} for a durable output, else one that forces nothing ({@code --no-fsync}). */
    public static Writeback forOutput(boolean durable) {
        return configured().durable(durable);
    }

    /** Tracks {@code channel} (open on {@code path}, which messages name); the caller keeps owning the channel. */
    public File track(Path path, FileChannel channel) {
        return new File(path, channel);
    }

    /** One output file: positioned writes, counted, and its force. Safe for concurrent writers. */
    public final class File {
        private final Path path;
        private final FileChannel channel;
        private final AtomicLong unflushed = new AtomicLong();
        private final AtomicBoolean queued = new AtomicBoolean();
        private volatile IOException failed;

        private File(Path path, FileChannel channel) {
            this.path = path;
            this.channel = channel;
        }

        public Path path() {
            return path;
        }

        public FileChannel channel() {
            return channel;
        }

        /** Writes every byte of {@code bytes} at {@code position} ({@link PositionedWrite}) and counts them. */
        public void write(MemorySegment bytes, long position) throws IOException {
            throwIfFailed();
            PositionedWrite.fully(channel, bytes, position);
            wrote(bytes.byteSize());
        }

        /** Counts bytes written to the channel directly; past the interval, asks for a background flush. */
        public void wrote(long bytes) {
            if (durable && every > 0 && unflushed.addAndGet(bytes) >= every && queued.compareAndSet(false, true)) enqueue(this);
        }

        /**
         * Forces every byte written (and the file's metadata); a failure, now or of a background flush, names the
         * file. Does nothing more than report an earlier failure when the writeback is not {@link #durable()}.
         */
        public void force() throws IOException {
            throwIfFailed();
            if (!durable) return;
            try {
                flush.force(channel, true);
            } catch (IOException e) {
                throw failure(e);
            }
        }

        private void flushInBackground() {
            unflushed.set(0); // before the force: bytes written meanwhile count toward the next one
            queued.set(false);
            if (closed || failed != null) return;
            try {
                flush.force(channel, false);
            } catch (ClosedChannelException e) {
                // closed by its writer, which stops this thread first: nothing was lost that a force would report
            } catch (IOException e) {
                failed = e; // thrown, naming the file, by the next write or force
            }
        }

        private void throwIfFailed() throws IOException {
            IOException f = failed;
            if (f != null) throw failure(f);
        }

        private FileSystemException failure(IOException cause) {
            String why = cause instanceof FileSystemException fs && fs.getReason() != null ? fs.getReason() : cause.getMessage();
            FileSystemException e = new FileSystemException(path.toString(), null,
                    "could not write the output to storage (" + (why == null ? cause.getClass().getSimpleName() : why) + ")");
            e.initCause(cause);
            return e;
        }
    }

    private synchronized void enqueue(File f) {
        if (closed) return;
        if (flusher == null) flusher = Thread.ofPlatform().name("ckpt-writeback").daemon().start(this::flushLoop);
        queue.add(f);
    }

    private void flushLoop() {
        while (true) {
            Object next;
            try {
                next = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            if (next == stop) return;
            ((File) next).flushInBackground();
        }
    }

    /**
     * Stops the background thread after the flush it is in, if any (never interrupted: an interrupt would close the
     * channel it forces). Files stay open and can still be forced.
     */
    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            if (closed) return;
            closed = true;
            t = flusher;
            if (t == null) return;
            queue.add(stop);
        }
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }
}
