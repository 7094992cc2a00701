package ckpt.format.dcp;

import ckpt.format.zip.ZipArchive;
import ckpt.format.FormatException;
import ckpt.format.safetensors.SafetensorsEntry;
import ckpt.format.safetensors.SafetensorsHeader;
import ckpt.format.tensor.StridedView;
import ckpt.format.torchsave.TensorRef;
import ckpt.format.torchsave.TorchSaveArchive;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * A DCP checkpoint directory: its metadata plus access to every item's bytes through windows over the mapped
 * {@code .distcp} files (FORMATS.md §3.4–3.5). Tensor chunks are torch.save archives (the default) or, for
 * {@code serialization_format=SAFETENSORS}, entries of one safetensors blob per file.
 */
public final class DcpCheckpoint implements AutoCloseable, ckpt.format.MappedSource, ckpt.format.RecordChecks {
    private final Path dir;
    private final DcpMetadata metadata;
    private final ShardFiles files;
    private final Map<String, SafetensorsHeader> blobHeaders = new HashMap<>();
    private volatile boolean checkRecords = true;
    /** Records (file@offset) whose CRC-32 has been checked, or is being checked by some thread. */
    private final ConcurrentHashMap<String, FutureTask<Void>> checkedRecords = new ConcurrentHashMap<>();

    private DcpCheckpoint(Path dir, DcpMetadata metadata) {
        this.dir = dir;
        this.metadata = metadata;
        this.files = new ShardFiles(dir);
    }

    public static DcpCheckpoint open(Path dir) {
        return new DcpCheckpoint(dir, DcpMetadataReader.read(dir));
    }

    public Path dir() {
        return dir;
    }

    public DcpMetadata metadata() {
        return metadata;
    }

    public ShardFiles files() {
        return files;
    }

    /** The raw bytes of an item (a torch.save archive, or a bytes payload), checked to lie inside its file. */
    public MemorySegment itemBytes(String key, StorageInfo info) {
        if (!info.transforms().isEmpty())
            throw FormatException.atKey(files.path(info.relativePath()), key, "item saved with stream transforms "
                    + info.transforms() + " (e.g. zstd compression), which ckpt does not read yet");
        return files.window(info.relativePath(), info.offset(), info.length(), key);
    }

    /** Elements of one chunk of a tensor, validated against the chunk's dtype and shape. */
    public StridedView chunkView(TensorStorageMetadata tensor, ChunkStorageMetadata chunk) {
        StorageInfo info = metadata.storageOf(tensor.fqn(), chunk);
        Path file = files.path(info.relativePath());
        MemorySegment item = itemBytes(tensor.fqn(), info);
        StridedView view;
        if (ZipArchive.startsLikeZip(item)) {
            TorchSaveArchive archive;
            try {
                // The CRC is checked here, once per record, not by the archive on every open: a conversion opens a
                // large record once per output piece, and re-reading it whole each time cost 2.5x the conversion.
                archive = TorchSaveArchive.open(file, item, false);
                if (!(archive.root() instanceof TensorRef t))
                    throw FormatException.atKey(file, tensor.fqn(), "chunk item does not hold a tensor");
                view = archive.view(t);
                TorchSaveArchive opened = archive;
                if (checkRecords) checkOnce(info.relativePath() + "@" + info.offset(),
                        () -> opened.checkStorage(t, files.channel(info.relativePath()), info.offset()));
            } catch (FormatException e) {
                if (e.key() != null) throw e;
                // name the tensor and where its record starts: the archive knows neither
                throw FormatException.atKey(file, tensor.fqn(), "record at byte " + info.offset() + ": "
                        + (e.where() == null ? "" : e.where() + ": ") + e.detail(), e);
            }
        } else {
            view = safetensorsChunk(tensor, chunk, info, file);
        }
        if (view.dtype() != tensor.dtype() || !Arrays.equals(view.shape(), chunk.box().sizes()))
            throw FormatException.atKey(file, tensor.fqn(), "chunk holds " + view.dtype() + Arrays.toString(view.shape())
                    + " where the metadata says " + tensor.dtype() + Arrays.toString(chunk.box().sizes()));
        return view;
    }

    /**
     * Runs {@code check} for {@code record} the first time any thread asks; threads asking meanwhile wait for that
     * result (a failure is remembered and rethrown to each of them) instead of reading the record again.
     */
    private void checkOnce(String record, Runnable check) {
        FutureTask<Void> task = new FutureTask<>(check, null);
        FutureTask<Void> first = checkedRecords.putIfAbsent(record, task);
        if (first == null) {
            task.run();
            first = task;
        }
        try {
            first.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error r) throw r;
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while another thread checks " + record);
        }
    }

    private StridedView safetensorsChunk(TensorStorageMetadata tensor, ChunkStorageMetadata chunk, StorageInfo info, Path file) {
        // serialization_format=SAFETENSORS: every tensor of a file shares the blob's offset; locate by FQN.
        SafetensorsHeader header;
        synchronized (blobHeaders) {
            String k = info.relativePath() + "@" + info.offset();
            header = blobHeaders.get(k);
            if (header == null) {
                long available = files.size(info.relativePath()) - info.offset();
                header = SafetensorsHeader.read(file, files.channel(info.relativePath()), info.offset(), available);
                blobHeaders.put(k, header);
            }
        }
        SafetensorsEntry e = header.entry(tensor.fqn()).orElseThrow(() -> FormatException.atKey(file, tensor.fqn(),
                "neither a torch.save archive nor an entry of the safetensors blob at byte " + info.offset()));
        MemorySegment data = files.window(info.relativePath(), header.dataStart() + e.begin(), e.end() - e.begin(), tensor.fqn());
        if (e.dtype() != tensor.dtype())
            throw FormatException.atKey(file, tensor.fqn(), "safetensors entry is " + e.dtype() + ", metadata says " + tensor.dtype());
        return StridedView.contiguous(data, e.dtype(), e.shape());
    }

    /** The unpickled payload of a bytes item (itself a torch.save archive of the Python object). */
    public Object readObject(String key) {
        return openObject(key).root();
    }

    /** The torch.save archive of a bytes item, for callers that also need tensors inside the object. */
    public TorchSaveArchive openObject(String key) {
        StorageInfo info = metadata.storageOf(key);
        if (info == null) throw FormatException.atKey(metadata.file(), key, "no such bytes item");
        MemorySegment item = itemBytes(key, info);
        Path file = files.path(info.relativePath());
        if (!ZipArchive.startsLikeZip(item))
            throw FormatException.atKey(file, key, "bytes item is not a torch.save archive");
        return TorchSaveArchive.open(file, item);
    }

    @Override
    public void checkRecords(boolean on) {
        checkRecords = on;
    }

        /** Unmaps the item windows this thread read so far (see {@link ShardFiles#releaseWindows()}); its earlier views become invalid. */
    @Override
    public void releaseMappings() {
        files.releaseWindows();
    }

    @Override
    public void close() {
        files.close();
    }
}
