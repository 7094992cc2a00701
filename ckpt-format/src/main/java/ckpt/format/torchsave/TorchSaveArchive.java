package ckpt.format.torchsave;

import ckpt.format.InputText;
import ckpt.format.FormatException;
import ckpt.format.pickle.PickleReader;
import ckpt.format.tensor.StridedView;
import ckpt.format.zip.ZipArchive;
import ckpt.format.zip.ZipEntryInfo;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * One torch.save zip archive (FORMATS.md §2): a whole {@code .pt} file, or one item inside a DCP {@code .distcp}
 * file. The pickle in {@code data.pkl} is decoded into inert values with {@link TensorRef}s; tensor bytes stay in
 * the mapped window and are exposed as {@link StridedView}s, never copied.
 */
public final class TorchSaveArchive implements ckpt.format.RecordChecks {
    private final Path file;
    private final ZipArchive zip;
    private final String prefix;
    private final Object root;
    private volatile boolean checkCrc;

    private TorchSaveArchive(Path file, ZipArchive zip, String prefix, Object root, boolean checkCrc) {
        this.file = file;
        this.zip = zip;
        this.prefix = prefix;
        this.root = root;
        this.checkCrc = checkCrc;
    }

    /** Opens the archive in {@code window} (a mapped slice of {@code file}; the caller's arena owns it). */
    public static TorchSaveArchive open(Path file, MemorySegment window) {
        return open(file, window, true);
    }

    /**
     * @param checkCrc whether {@link #storageBytes} checks each record's CRC-32 before handing it out (a verifier
     *                 that checks and reports CRCs itself turns it off)
     */
    public static TorchSaveArchive open(Path file, MemorySegment window, boolean checkCrc) {
        ZipArchive zip = ZipArchive.open(file, window);
        String prefix = zip.prefix();
        // TorchScript archives also hold a data.pkl, so constants.pkl alone decides (torch's _is_torchscript_zip).
        if (zip.entry(prefix + "/constants.pkl").isPresent())
            throw new FormatException(file, "TorchScript archive (constants.pkl), not a torch.save file: "
                    + "ckpt reads state dicts saved with torch.save, not models saved with torch.jit.save");
        ZipEntryInfo pkl = zip.entry(prefix + "/data.pkl")
                .orElseThrow(() -> new FormatException(file, "zip archive has no " + prefix + "/data.pkl: not a torch.save file"));
        zip.entry(prefix + "/byteorder").ifPresent(e -> {
            String order = new String(zip.data(e).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).trim();
            if (!order.equals("little"))
                throw new FormatException(file, "byteorder '" + InputText.excerpt(order) + "': only little-endian torch.save files are supported");
        });
        PickleReader reader = TorchGlobals.reader(file).record(pkl.name()).build();
        Object root = reader.read(zip.data(pkl));
        return new TorchSaveArchive(file, zip, prefix, root, checkCrc);
    }

    public Path file() {
        return file;
    }

    @Override
    public void checkRecords(boolean on) {
        checkCrc = on;
    }

    public ZipArchive zip() {
        return zip;
    }

    /** The unpickled object (inert values; tensors as {@link TensorRef}). */
    public Object root() {
        return root;
    }

    /** The bytes of a storage record, checked to be exactly as long as the storage. */
    public MemorySegment storageBytes(StorageRef storage) {
        String name = prefix + "/data/" + storage.key();
        ZipEntryInfo e = zip.entry(name).orElseThrow(() -> new FormatException(file, "storage record " + name + " is missing"));
        MemorySegment data = checkCrc ? zip.checkedData(e) : zip.data(e);
        if (data.byteSize() != storage.byteSize())
            throw new FormatException(file, "storage record " + name + " holds " + data.byteSize() + " bytes, its tensor needs "
                    + storage.byteSize());
        return data;
    }

    /**
     * Checks the CRC-32 of the storage record behind {@code t}, whether or not this archive checks on read, by
     * reading it from {@code channel} (the archive starts at byte {@code archiveStart}) rather than through the mapping.
     */
    public void checkStorage(TensorRef t, java.nio.channels.FileChannel channel, long archiveStart) {
        String name = prefix + "/data/" + t.storage().key();
        zip.checkCrcByReading(zip.entry(name).orElseThrow(() -> new FormatException(file, "storage record " + name + " is missing")),
                channel, archiveStart);
    }

    /** The elements of a tensor of this archive. */
    public StridedView view(TensorRef t) {
        if (t.isMeta()) throw new FormatException(file, t.describe() + " has no data");
        return new StridedView(storageBytes(t.storage()), t.dtype(), t.storageOffset(), t.shape(), t.stride());
    }
}
