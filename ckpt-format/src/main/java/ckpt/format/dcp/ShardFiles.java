package ckpt.format.dcp;

import ckpt.format.RegularFiles;
import ckpt.format.FormatException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * The data files of a checkpoint. Records are mapped read-only window by window into an arena of the calling
 * thread that the thread releases between units of work ({@link #releaseWindows()}): touched pages of a mapping
 * count in the process's RSS until it is unmapped, so mapping whole many-GB shards for a conversion would make RSS
 * grow with the bytes read. One arena per thread lets parallel workers each release their own windows without
 * invalidating another's (the arenas are shared, so a view made on one thread may still be read on another until
 * its owner releases). Nothing is ever copied onto the heap. Closing releases every mapping.
 */
public final class ShardFiles implements AutoCloseable {
    private final Path dir;
    private final Arena arena = Arena.ofShared();
    private final Map<Thread, Arena> windows = new HashMap<>();
    private final Map<String, MemorySegment> mapped = new HashMap<>();
    private final Map<String, FileChannel> channels = new HashMap<>();

    public ShardFiles(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    public Path path(String relative) {
        return dir.resolve(relative);
    }

    /** The whole file, mapped. */
    public synchronized MemorySegment file(String relative) {
        MemorySegment seg = mapped.get(relative);
        if (seg != null) return seg;
        FileChannel ch = channel(relative);
        try {
            seg = ch.size() == 0 ? MemorySegment.NULL.reinterpret(0) : ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        mapped.put(relative, seg);
        return seg;
    }

    public synchronized FileChannel channel(String relative) {
        FileChannel ch = channels.get(relative);
        // an interrupt during a read or map closes the channel for every thread (NIO's rule): open it again
        if (ch != null && ch.isOpen()) return ch;
        Path p = path(relative);
        try {
            ch = RegularFiles.openRead(p);
        } catch (NoSuchFileException e) {
            throw new FormatException(p, "data file is missing (referenced by the checkpoint metadata)");
        } catch (IOException e) {
            throw new FormatException(p, "cannot open: " + e.getMessage(), e);
        }
        channels.put(relative, ch);
        return ch;
    }

    /**
     * {@code [offset, offset+length)} of a file, mapped until the next {@link #releaseWindows()}, or a clear error
     * naming the file and key when the file is short.
     */
    public synchronized MemorySegment window(String relative, long offset, long length, String key) {
        FileChannel ch = channel(relative);
        long size;
        try {
            size = ch.size();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // length > size - offset, not offset + length > size: lengths from a file may be near 2^63
        if (offset < 0 || length < 0 || offset > size || length > size - offset)
            throw FormatException.atKey(path(relative), key, "record of " + length + " bytes at byte " + offset
                    + " lies past the end of the file (" + size + " bytes): truncated shard?");
        if (length == 0) return MemorySegment.NULL.reinterpret(0);
        try {
            return ch.map(FileChannel.MapMode.READ_ONLY, offset, length, windows.computeIfAbsent(Thread.currentThread(), t -> Arena.ofShared()));
        } catch (IOException e) {
            throw FormatException.atKey(path(relative), key, "cannot map record: " + e.getMessage(), e);
        }
    }

    /**
     * Unmaps every window the calling thread was handed so far; those segments become invalid. Call between units
     * of work (e.g. after each output piece) to keep the resident set bounded by the units in flight.
     */
    public void releaseWindows() {
        Arena a;
        synchronized (this) {
            a = windows.remove(Thread.currentThread());
        }
        if (a != null) a.close(); // outside the lock: closing a shared arena waits for a handshake with every thread
    }

    public long size(String relative) {
        try {
            return Files.size(path(relative));
        } catch (NoSuchFileException e) {
            throw new FormatException(path(relative), "data file is missing");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public synchronized void close() {
        for (FileChannel ch : channels.values()) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // read-only channel: nothing to lose
            }
        }
        channels.clear();
        mapped.clear();
        for (Arena a : windows.values()) a.close();
        windows.clear();
        arena.close();
    }
}
