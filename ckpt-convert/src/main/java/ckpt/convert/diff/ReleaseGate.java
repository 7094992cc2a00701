package ckpt.convert.diff;

import ckpt.convert.index.CheckpointIndex;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Lets parallel workers read mapped source records while keeping the resident set bounded: every block is read
 * under the read lock; once {@code threshold} bytes were read since the last release, the next worker between
 * blocks takes the write lock (waiting for blocks in flight to finish) and unmaps what the indexes mapped so far.
 * Unmapping under a reader would invalidate its views, hence the lock.
 */
final class ReleaseGate {
    private final List<CheckpointIndex> indexes;
    private final long threshold;
    private final AtomicLong sinceRelease = new AtomicLong();
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

    ReleaseGate(List<CheckpointIndex> indexes, long threshold) {
        this.indexes = List.copyOf(indexes);
        this.threshold = threshold;
    }

    /** Runs {@code read} (which maps {@code bytes} of records) while no release can happen. */
    void read(long bytes, Runnable read) {
        lock.readLock().lock();
        try {
            read.run();
        } finally {
            lock.readLock().unlock();
        }
        if (sinceRelease.addAndGet(bytes) >= threshold) release();
    }

    private void release() {
        lock.writeLock().lock();
        try {
            if (sinceRelease.get() < threshold) return; // another worker released meanwhile
            for (CheckpointIndex i : indexes) i.releaseMappings();
            sinceRelease.set(0);
        } finally {
            lock.writeLock().unlock();
        }
    }
}
