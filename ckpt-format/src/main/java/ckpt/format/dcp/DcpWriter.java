package ckpt.format.dcp;

import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;
import ckpt.format.torchsave.TorchSaveWriter;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * Writes a DCP checkpoint directory that {@code torch.distributed.checkpoint} loads (FORMATS.md §3.1–3.4, §3.9):
 * one {@code __<rank>_0.distcp} per rank, each a concatenation of complete {@code torch.save} archives (tensor chunks)
 * and raw bytes items, written in the order they are added; then {@code .metadata} (a protocol-4 pickle of the DCP
 * dataclasses) through {@code .metadata.tmp} and an atomic rename, after the data files are forced to disk. A
 * directory without {@code .metadata} is an incomplete save, as for torch, so an interrupted write is never mistaken
 * for a checkpoint.
 *
 * <p>Tensor bytes never pass through the heap: each chunk's record is reserved in its archive, mapped, and filled by
 * the caller. torch writes a rank's bytes items before its tensors; callers that want that order add them first.
 */
public final class DcpWriter implements AutoCloseable {
    private final Path dir;
    private final Map<Integer, RankFile> files = new TreeMap<>();
    private final Map<Integer, List<Runnable>> storageByRank = new TreeMap<>();
    private final DcpMetadataWriter metadata = new DcpMetadataWriter();
    private boolean finished;

    private static final class RankFile {
        final String name;
        final FileChannel channel;
        long end;

        RankFile(String name, FileChannel channel) {
            this.name = name;
            this.channel = channel;
        }
    }

    private DcpWriter(Path dir) {
        this.dir = dir;
        metadata.storageMeta(dir.toAbsolutePath().normalize().toString(), UUID.randomUUID().toString());
    }

    /**
     * Starts a checkpoint in {@code dir} (created if missing). Refuses a directory that already holds a
     * {@code .metadata} or {@code .distcp} files: a writer never overwrites a checkpoint.
     */
    public static DcpWriter create(Path dir) throws IOException {
        Files.createDirectories(dir);
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (n.equals(DcpMetadataReader.METADATA_FILE) || n.endsWith(".distcp"))
                    throw new IOException(dir + ": already holds a DCP checkpoint (" + n + "); refusing to overwrite it");
            }
        }
        return new DcpWriter(dir);
    }

    /** {@code storage_meta} fields (default: the absolute directory and a random UUID, as torch). */
    public DcpWriter storageMeta(String checkpointId, String saveId) {
        metadata.storageMeta(checkpointId, saveId);
        return this;
    }

    public Path dir() {
        return dir;
    }

    /**
     * Appends chunk {@code chunk} of tensor {@code fqn} to rank {@code rank}'s file as {@code torch.save} of a
     * contiguous {@code chunk.sizes()} tensor; {@code fill} writes its {@code numel × element size} little-endian bytes
     * into the given mapped segment.
     */
    public StorageInfo addTensorChunk(String fqn, DType dtype, long[] globalShape, Box chunk, int rank,
                                      Consumer<MemorySegment> fill) throws IOException {
        checkOpen();
        metadata.addChunk(fqn, dtype, globalShape, chunk);
        RankFile f = file(rank);
        long offset = f.end;
        long length = TorchSaveWriter.writeTensor(dir.resolve(f.name), f.channel, offset, dtype, chunk.sizes(), fill);
        return record(rank, f, fqn, chunk.offsets(), offset, length);
    }

    /** Appends a bytes item whose payload the caller already serialized (normally a {@code torch.save} of the object). */
    public StorageInfo addBytes(String fqn, int rank, byte[] payload) throws IOException {
        checkOpen();
        metadata.addBytes(fqn);
        RankFile f = file(rank);
        long offset = f.end;
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(payload);
        long at = offset;
        while (b.hasRemaining()) at += f.channel.write(b, at);
        return record(rank, f, fqn, null, offset, payload.length);
    }

    /** Appends a bytes item holding {@code torch.save(value)} (a pickle value tree, see {@link TorchSaveWriter#writeObject}). */
    public StorageInfo addObject(String fqn, int rank, Object value) throws IOException {
        checkOpen();
        metadata.addBytes(fqn);
        RankFile f = file(rank);
        long offset = f.end;
        long length = TorchSaveWriter.writeObject(dir.resolve(f.name), f.channel, offset, value);
        return record(rank, f, fqn, null, offset, length);
    }

    private StorageInfo record(int rank, RankFile f, String fqn, long[] chunkOffsets, long offset, long length) {
        f.end = offset + length;
        StorageInfo info = new StorageInfo(f.name, offset, length, List.of());
        // storage_data lists ranks in order, each rank's items in write order (torch merges per-rank results so).
        storageByRank.computeIfAbsent(rank, r -> new java.util.ArrayList<>())
                .add(() -> metadata.addStorage(fqn, chunkOffsets, info));
        return info;
    }

    /** Forces the data files, then writes {@code .metadata} via {@code .metadata.tmp} + atomic rename. */
    public void finish() throws IOException {
        checkOpen();
        for (List<Runnable> rank : storageByRank.values()) rank.forEach(Runnable::run);
        storageByRank.clear();
        for (RankFile f : files.values()) {
            f.channel.truncate(f.end);
            f.channel.force(true);
        }
        metadata.writeFile(dir);
        finished = true;
        closeFiles();
    }

    /** Closes the data files; without {@link #finish} the directory stays an incomplete save (no {@code .metadata}). */
    @Override
    public void close() throws IOException {
        closeFiles();
    }

    private void closeFiles() throws IOException {
        IOException first = null;
        for (RankFile f : files.values()) {
            try {
                f.channel.close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }

    /** torch's file name for rank {@code rank}'s data ({@code single_file_per_rank}). */
    public static String fileName(int rank) {
        if (rank < 0) throw new IllegalArgumentException("negative rank " + rank);
        return "__" + rank + "_0.distcp";
    }

    private RankFile file(int rank) throws IOException {
        RankFile f = files.get(rank);
        if (f == null) {
            String name = fileName(rank);
            FileChannel ch = FileChannel.open(dir.resolve(name), StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            f = new RankFile(name, ch);
            files.put(rank, f);
        }
        return f;
    }

    private void checkOpen() {
        if (finished) throw new IllegalStateException("checkpoint already finished");
        Objects.requireNonNull(dir);
    }
}
