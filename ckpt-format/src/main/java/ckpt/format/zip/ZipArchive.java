package ckpt.format.zip;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.CRC32;

/**
 * A zip archive read in place from a memory segment: a whole {@code torch.save} file, or one DCP item, which is a
 * complete {@code torch.save} zip at {@code (offset, length)} inside a {@code .distcp} file. Nothing is copied: STORED
 * entries are handed out as slices of the segment, so tensor bytes can be read straight from a mapped file.
 *
 * <p>All structures are validated on open (end records, central directory, every local header, name safety, data
 * ranges); after that, {@link #data} cannot fail. The caller owns the segment's arena and must keep it open while
 * using the archive and the slices it returns.
 *
 * <p>Offsets in {@link ZipEntryInfo} are relative to the segment given to {@code open}. For a DCP item window the
 * archive starts at the segment start. If other bytes precede the archive (a whole {@code .distcp}, which is a
 * concatenation of archives, opened as one zip) only the LAST archive is seen, as with any zip reader that searches
 * the end record from the end; {@link #archiveStart()} then tells where it begins.
 *
 * <p>Instances are immutable and may be shared between threads (if the segment's arena allows it).
 */
public final class ZipArchive {
    private static final long CRC_CHUNK = 1L << 30;
    /** Buffer of {@link #checkCrcByReading}: large enough that a read costs far more than its system call. */
    private static final long READ_CHUNK = 4L << 20;

    private final Path file;
    private final MemorySegment segment;
    private final long archiveStart;
    private final List<ZipEntryInfo> entries;
    private final Map<String, ZipEntryInfo> byName;
    /** Entries whose CRC-32 {@link #checkedData} has already verified (a storage shared by many tensors is read once). */
    private final java.util.Set<String> crcChecked = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private ZipArchive(Path file, MemorySegment segment, ZipParser.Parsed parsed) {
        this.file = file;
        this.segment = segment;
        this.archiveStart = parsed.archiveStart();
        this.entries = parsed.entries();
        this.byName = parsed.byName();
    }

    /**
     * Opens the archive held in {@code window}, the bytes of {@code file} from some offset on (e.g. a mapped
     * {@code [offset, offset+length)} of a {@code .distcp}). Error offsets are reported relative to the window.
     */
    public static ZipArchive open(Path file, MemorySegment window) throws ZipFormatException {
        return open(file, 0, window);
    }

    /** As {@link #open(Path, MemorySegment)}, with {@code windowStart} (the window's file offset) added to error offsets. */
    public static ZipArchive open(Path file, long windowStart, MemorySegment window) throws ZipFormatException {
        return new ZipArchive(file, window, new ZipParser(file, windowStart, window).parse());
    }

    /**
     * Whether {@code bytes} begins with a local file header signature ({@code PK\3\4}), as every zip torch.save
     * archive does: how callers tell a zip from a legacy pickle stream before choosing a reader.
     */
    public static boolean startsLikeZip(MemorySegment bytes) {
        return bytes.byteSize() >= 4 && ZipSpec.i32(bytes, 0) == ZipSpec.LOCAL_SIG;
    }

    public Path file() {
        return file;
    }

    /** Offset of the archive's first byte in the segment: 0 unless other bytes precede the archive. */
    public long archiveStart() {
        return archiveStart;
    }

    /** Entries in central-directory order. */
    public List<ZipEntryInfo> entries() {
        return entries;
    }

    public Optional<ZipEntryInfo> entry(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** The top-level folder every {@code torch.save} record lives in: the first entry's name up to its first '/'. */
    public String prefix() throws ZipFormatException {
        if (entries.isEmpty()) throw new ZipFormatException(file, null, "zip archive has no entries, so no top-level folder");
        String first = entries.getFirst().name();
        int slash = first.indexOf('/');
        if (slash <= 0) throw new ZipFormatException(file, null, "first zip entry '" + ckpt.format.InputText.excerpt(first) + "' is not inside a top-level folder");
        return first.substring(0, slash);
    }

    /** The entry's stored bytes, as a slice of the segment (no copy). DEFLATE entries cannot be sliced: use {@link #inflated}. */
    public MemorySegment data(ZipEntryInfo e) throws ZipFormatException {
        checkOwn(e);
        if (!e.isStored())
            throw new ZipFormatException(file, "entry " + e.name(), "entry is DEFLATE-compressed: tensor data must be stored uncompressed to be read in place");
        return segment.asSlice(e.dataOffset(), e.size());
    }

    /**
     * As {@link #data}, after checking the bytes against the CRC-32 the central directory recorded (once per entry):
     * how a reader refuses a record that changed after it was written (a flipped bit, a torn write). An entry
     * with CRC 0 and data is taken as written without CRCs (torch's {@code compute_crc32=False}) and not checked.
     */
    public MemorySegment checkedData(ZipEntryInfo e) throws ZipFormatException {
        MemorySegment data = data(e);
        if (crcChecked.contains(e.name()) || (e.crc() == 0 && e.size() > 0)) return data;
        CRC32 crc = new CRC32();
        update(crc, data);
        requireCrc(e, crc.getValue());
        return data;
    }

    /**
     * The check of {@link #checkedData}, reading the entry's bytes with positioned reads of {@code channel} (this
     * archive starts at byte {@code windowStart} of it) through a small buffer instead of the mapping: checking a
     * record of gigabytes then leaves none of its pages mapped in this process. A caller that bound
     * {@link ckpt.format.RecordChecks#DEFERRAL} may take the check over (it reads the bytes anyway); then this returns
     * without reading them.
     */
    public void checkCrcByReading(ZipEntryInfo e, FileChannel channel, long windowStart) throws ZipFormatException {
        data(e); // stored, and an entry of this archive
        if (crcChecked.contains(e.name()) || (e.crc() == 0 && e.size() > 0)) return;
        if (ckpt.format.RecordChecks.DEFERRAL.isBound()
                && ckpt.format.RecordChecks.DEFERRAL.get().take(e.crc(), e.size(), () -> readAndCheck(e, channel, windowStart))) return;
        readAndCheck(e, channel, windowStart);
    }

    private void readAndCheck(ZipEntryInfo e, FileChannel channel, long windowStart) throws ZipFormatException {
        CRC32 crc = new CRC32();
        long at = windowStart + e.dataOffset(), end = at + e.size();
        try (Arena arena = Arena.ofConfined()) {
            ByteBuffer buf = arena.allocate(Math.max(1, Math.min(READ_CHUNK, e.size()))).asByteBuffer();
            while (at < end) {
                buf.clear().limit((int) Math.min(buf.capacity(), end - at));
                int n = channel.read(buf, at);
                if (n < 0) throw new ZipFormatException(file, "entry " + e.name(), "the file ends inside the entry's data");
                crc.update(buf.flip());
                at += n;
            }
        } catch (IOException x) {
            throw new ZipFormatException(file, "entry " + e.name(), "cannot read: " + x.getMessage(), x);
        }
        requireCrc(e, crc.getValue());
    }

    private void requireCrc(ZipEntryInfo e, long actual) {
        if (actual != e.crc())
            throw new ZipFormatException(file, "entry " + e.name(), "CRC-32 mismatch: the zip directory says "
                    + String.format("%08x", e.crc()) + ", the bytes give " + String.format("%08x", actual)
                    + ": the data changed after it was written");
        crcChecked.add(e.name());
    }

    /** The entry's uncompressed bytes as a stream: inflated for DEFLATE, read from the segment for STORED. */
    public InputStream inflated(ZipEntryInfo e) {
        checkOwn(e);
        MemorySegment raw = segment.asSlice(e.dataOffset(), e.compressedSize());
        return e.isStored() ? new SegmentInputStream(raw) : new InflatingInputStream(file, e.name(), raw, e.size());
    }

    /** CRC-32 of the entry's uncompressed bytes, computed now (compare with {@link ZipEntryInfo#crc()}). */
    public long crc32(ZipEntryInfo e) throws ZipFormatException {
        checkOwn(e);
        CRC32 crc = new CRC32();
        if (e.isStored()) {
            update(crc, data(e));
        } else {
            try (InputStream in = inflated(e)) {
                byte[] buf = new byte[64 * 1024];
                for (int n; (n = in.read(buf)) > 0; ) crc.update(buf, 0, n);
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
        }
        return crc.getValue();
    }

    /** Feeds a segment of any size to a CRC (a ByteBuffer view is limited to 2 GiB, so in chunks). */
    static void update(CRC32 crc, MemorySegment data) {
        update(crc, data, CRC_CHUNK);
    }

    static void update(CRC32 crc, MemorySegment data, long chunk) {
        for (long at = 0; at < data.byteSize(); at += chunk)
            crc.update(data.asSlice(at, Math.min(chunk, data.byteSize() - at)).asByteBuffer());
    }

    private void checkOwn(ZipEntryInfo e) {
        if (byName.get(e.name()) != e && !e.equals(byName.get(e.name())))
            throw new IllegalArgumentException("entry " + e.name() + " does not belong to the archive in " + file);
    }

    @Override
    public String toString() {
        return "ZipArchive[" + file + ", " + entries.size() + " entries]";
    }
}
