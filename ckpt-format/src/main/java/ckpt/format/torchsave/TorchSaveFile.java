package ckpt.format.torchsave;

import ckpt.format.RegularFiles;
import ckpt.format.zip.ZipArchive;
import ckpt.format.FormatException;
import ckpt.format.tensor.StridedView;
import ckpt.format.zip.ZipEntryInfo;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A whole {@code .pt} file written by {@code torch.save}, mapped read-only: the zip format (torch ≥ 1.6) or the
 * legacy magic-number stream (FORMATS.md §2.8a), told apart by their first bytes (§2.1). The other things a
 * {@code .pt} can be (TorchScript, the pre-2018 tar format, the {@code PYTORCH1} preview) are refused with a
 * message saying what the file is. Tensor bytes stay in the mapping; views are valid until {@link #close()}.
 */
public final class TorchSaveFile implements AutoCloseable, ckpt.format.RecordChecks {
    static final byte[] PYTORCH1 = "PYTORCH1".getBytes(StandardCharsets.US_ASCII);
    static final byte[] USTAR = "ustar".getBytes(StandardCharsets.US_ASCII);
    static final int USTAR_OFFSET = 257;

    private final Path file;
    private final Arena arena;
    private final MemorySegment mapped;
    private final Object root;
    private final TorchSaveArchive archive;
    private final Map<String, StorageRecord> legacyRecords;
    private volatile boolean checkRecords = true;

    private TorchSaveFile(Path file, Arena arena, MemorySegment mapped, Object root, TorchSaveArchive archive,
                          Map<String, StorageRecord> legacyRecords) {
        this.file = file;
        this.arena = arena;
        this.mapped = mapped;
        this.root = root;
        this.archive = archive;
        this.legacyRecords = legacyRecords;
    }

    public static TorchSaveFile open(Path file) {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment seg;
            try (FileChannel ch = RegularFiles.openRead(file)) {
                seg = ch.size() == 0 ? MemorySegment.ofArray(new byte[0])
                        : ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            }
            if (ZipArchive.startsLikeZip(seg)) {
                TorchSaveArchive a = TorchSaveArchive.open(file, seg);
                return new TorchSaveFile(file, arena, seg, a.root(), a, null);
            }
            if (startsWith(seg, 0, PYTORCH1))
                throw new FormatException(file, "PYTORCH1 archive from a PyTorch preview release: not supported; "
                        + "re-save with torch >= 1.6");
            if (startsWith(seg, USTAR_OFFSET, USTAR))
                throw new FormatException(file, "pre-2018 PyTorch tar checkpoint; re-save with torch >= 1.6");
            if (LegacyStream.startsLikePickle(seg)) {
                LegacyStream s = LegacyStream.parse(file, seg);
                return new TorchSaveFile(file, arena, seg, s.root(), null, s.records());
            }
            throw new FormatException(file, seg.byteSize() == 0 ? "empty file: not a torch.save file"
                    : "not a torch.save file (expected a zip or legacy torch.save stream)");
        } catch (IOException e) {
            arena.close();
            throw new FormatException(file, "cannot read: " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    static boolean startsWith(MemorySegment seg, long at, byte[] magic) {
        if (seg.byteSize() - at < magic.length) return false;
        for (int i = 0; i < magic.length; i++)
            if (seg.get(ValueLayout.JAVA_BYTE, at + i) != magic[i]) return false;
        return true;
    }

    public Path file() {
        return file;
    }

    /** Whether this is the legacy magic-number stream rather than a zip archive. */
    public boolean legacy() {
        return archive == null;
    }

    /** The unpickled object (inert values; tensors as {@link TensorRef}). */
    public Object root() {
        return root;
    }

    /** Where the bytes of a storage lie in the file, checked to be exactly as long as the storage. */
    public StorageRecord record(StorageRef storage) {
        StorageRecord r;
        if (archive != null) {
            String name = archive.zip().prefix() + "/data/" + storage.key();
            ZipEntryInfo e = archive.zip().entry(name)
                    .orElseThrow(() -> new FormatException(file, "storage record " + name + " is missing"));
            r = new StorageRecord(storage.key(), e.dataOffset(), e.compressedSize());
            if (!e.isStored())
                throw new FormatException(file, "entry " + name, "storage record is compressed; only STORED records "
                        + "(what torch writes) can be mapped");
        } else {
            r = legacyRecords.get(storage.key());
            if (r == null) throw new FormatException(file, "storage " + storage.key() + " has no payload");
        }
        if (r.length() != storage.byteSize())
            throw new FormatException(file, "storage record " + storage.key() + " holds " + r.length()
                    + " bytes, its tensor needs " + storage.byteSize());
        return r;
    }

    /** Every storage record of the file, in file order. */
    public Map<String, StorageRecord> records() {
        if (archive == null) return legacyRecords;
        Map<String, StorageRecord> out = new LinkedHashMap<>();
        String dataDir = archive.zip().prefix() + "/data/";
        for (ZipEntryInfo e : archive.zip().entries()) {
            if (!e.name().startsWith(dataDir) || e.isDirectory()) continue;
            String key = e.name().substring(dataDir.length());
            out.put(key, new StorageRecord(key, e.dataOffset(), e.compressedSize()));
        }
        return Collections.unmodifiableMap(out);
    }

    /** The elements of a tensor of this file, a view over the mapped storage (non-contiguous views included). */
    public StridedView view(TensorRef t) {
        if (t.isMeta()) throw new FormatException(file, t.describe() + " has no data");
        StorageRecord r = record(t.storage());
        TorchGlobals.checkInside(file, t);
        if (checkRecords && archive != null) // the zip's CRC-32; legacy streams carry none
            archive.zip().checkedData(archive.zip().entry(archive.zip().prefix() + "/data/" + t.storage().key()).orElseThrow());
        return new StridedView(mapped.asSlice(r.offset(), r.length()), t.dtype(), t.storageOffset(), t.shape(), t.stride());
    }

    @Override
    public void checkRecords(boolean on) {
        checkRecords = on;
    }

    @Override
    public void close() {
        arena.close();
    }

    @Override
    public String toString() {
        return "TorchSaveFile[" + file + (legacy() ? ", legacy" : ", zip") + "]";
    }
}
