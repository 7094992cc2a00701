package ckpt.format.deepspeed;

import ckpt.format.FormatException;
import ckpt.format.MappedSource;
import ckpt.format.dcp.ShardFiles;
import ckpt.format.torchsave.TorchSaveArchive;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * The rank files of one tag directory, opened through {@link ShardFiles}: each whole file is mapped once so its zip
 * directory and pickle can be parsed (only those pages are touched), while tensor bytes are read through windows
 * that {@link #releaseMappings()} unmaps, so a conversion keeps only the tensor in flight resident.
 */
public final class ZeroFiles implements MappedSource, AutoCloseable {
    private final ShardFiles shards;

    public ZeroFiles(Path dir) {
        this.shards = new ShardFiles(dir);
    }

    public Path dir() {
        return shards.dir();
    }

    /** Opens a rank file: zip structure and pickle validated; a failure names the file and the rank. */
    public RankFile open(String name, int rank) {
        Path p = shards.path(name);
        try {
            MemorySegment whole = shards.file(name);
            return new RankFile(name, rank, p, TorchSaveArchive.open(p, whole), this);
        } catch (FormatException e) {
            String m = e.getMessage();
            String prefix = p + ": ";
            throw new FormatException(p, "rank " + rank, m.startsWith(prefix) ? m.substring(prefix.length()) : m, e);
        } catch (java.io.UncheckedIOException e) {
            throw new FormatException(p, "rank " + rank, "cannot read: " + e.getCause().getMessage(), e);
        }
    }

    MemorySegment window(String name, long offset, long length, int rank) {
        return shards.window(name, offset, length, "rank " + rank);
    }

    public long size(String name) {
        return shards.size(name);
    }

    @Override
    public void releaseMappings() {
        shards.releaseWindows();
    }

    @Override
    public void close() {
        shards.close();
    }
}
