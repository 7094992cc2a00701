package ckpt.format.safetensors;

import ckpt.format.RegularFiles;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A safetensors blob mapped read-only: a whole {@code .safetensors} file ({@link #open}) or a blob inside a larger
 * file such as a DCP {@code .distcp} ({@link #openEmbedded}). Tensor data are zero-copy slices of the mapping, valid
 * until {@link #close()} or {@link #releaseMappings()}. Each thread reads through a mapping of its own (shared, so
 * slices may be handed to other threads): {@link #releaseMappings()} unmaps the calling thread's mapping (a streaming
 * job's resident set then stays bounded) without invalidating what parallel workers are reading; that thread's next
 * {@link #data} maps the blob again.
 */
public final class SafetensorsFile implements AutoCloseable, ckpt.format.MappedSource {
    private final SafetensorsHeader header;
    private final long blobOffset;
    private record Mapping(Arena arena, MemorySegment blob) {
    }

    private final java.util.Map<Thread, Mapping> mappings = new java.util.HashMap<>();
    private boolean closed;

    private SafetensorsFile(SafetensorsHeader header, long blobOffset, Arena arena, MemorySegment blob) {
        this.header = header;
        this.blobOffset = blobOffset;
        mappings.put(Thread.currentThread(), new Mapping(arena, blob));
    }

    /** Opens a plain {@code .safetensors} file; the blob must fill the file exactly. */
    public static SafetensorsFile open(Path file) {
        return open(file, 0, true);
    }

    /** Opens the blob that starts at {@code blobOffset}; it must fit in the file, bytes after it are ignored. */
    public static SafetensorsFile openEmbedded(Path file, long blobOffset) {
        return open(file, blobOffset, false);
    }

    private static SafetensorsFile open(Path file, long blobOffset, boolean exact) {
        try (FileChannel ch = RegularFiles.openRead(file)) {
            long available = ch.size() - blobOffset;
            SafetensorsHeader header = exact ? SafetensorsHeader.read(file, ch, blobOffset, available)
                    : SafetensorsHeader.readEmbedded(file, ch, blobOffset, available);
            Arena arena = Arena.ofShared();
            try {
                // The mapping outlives the channel, so no descriptor stays open per file.
                MemorySegment blob = ch.map(FileChannel.MapMode.READ_ONLY, blobOffset, header.blobLength(), arena);
                return new SafetensorsFile(header, blobOffset, arena, blob);
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        } catch (IOException e) {
            throw new SafetensorsException(file, null, "cannot open: " + e.getMessage(), e);
        }
    }

    public Path path() {
        return header.file();
    }

    public SafetensorsHeader header() {
        return header;
    }

    /** The tensor's bytes (C-contiguous, little-endian), a slice of the mapping. */
    public MemorySegment data(SafetensorsEntry e) {
        if (header.entry(e.name()).filter(e::equals).isEmpty()) {
            throw new IllegalArgumentException("entry " + e + " is not from " + header.file());
        }
        return mapped().asSlice(8 + header.headerLength() + e.begin(), e.byteLength());
    }

    private synchronized MemorySegment mapped() {
        if (closed) throw new IllegalStateException(header.file() + " is closed");
        Mapping m = mappings.get(Thread.currentThread());
        if (m == null) {
            try (FileChannel ch = FileChannel.open(header.file(), StandardOpenOption.READ)) {
                Arena a = Arena.ofShared();
                try {
                    m = new Mapping(a, ch.map(FileChannel.MapMode.READ_ONLY, blobOffset, header.blobLength(), a));
                    mappings.put(Thread.currentThread(), m);
                } catch (IOException | RuntimeException e) {
                    a.close();
                    throw e;
                }
            } catch (IOException e) {
                throw new SafetensorsException(header.file(), null, "cannot map again: " + e.getMessage(), e);
            }
        }
        return m.blob();
    }

    /** Unmaps the calling thread's mapping; slices it handed out become invalid. */
    @Override
    public void releaseMappings() {
        Mapping m;
        synchronized (this) {
            m = mappings.remove(Thread.currentThread());
        }
        if (m != null) m.arena().close();
    }

    /** The bytes of the named tensor; a {@link SafetensorsException} naming the file when it is absent. */
    public MemorySegment data(String name) {
        return data(header.entry(name).orElseThrow(() ->
                SafetensorsException.forTensor(header.file(), name, "no such tensor")));
    }

    @Override
    public synchronized void close() {
        for (Mapping m : mappings.values()) m.arena().close();
        mappings.clear();
        closed = true;
    }
}
