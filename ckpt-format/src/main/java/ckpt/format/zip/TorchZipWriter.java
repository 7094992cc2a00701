package ckpt.format.zip;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

import static ckpt.format.zip.ZipSpec.*;

/**
 * Writes a {@code torch.save}-style zip (FORMATS.md §2.3, §2.9): every record STORED under {@code <prefix>/}, data
 * 64-byte aligned relative to the archive start through an {@code FB} extra field of {@code 'Z'} padding in the local
 * header, UTF-8 names (flag bit 11), sizes and CRC in both local and central headers (so no data descriptors), zip64
 * extra fields for sizes/offsets ≥ 0xFFFFFFFF and, like PyTorch, always a zip64 end record and locator.
 *
 * <p>The layout is planned as records are added, so a large record can be {@link #reserve reserved} and its bytes
 * written by the caller straight into the file (e.g. through a mapped segment) at the returned offset; its CRC is
 * given later with {@link #setCrc}. Local headers of reserved records and the central directory are written by
 * {@link #finish}. Records appear in the order they are added; torch's order is {@code data.pkl},
 * {@code .format_version}, {@code .storage_alignment}, {@code byteorder}, {@code data/<key>}…, {@code version}.
 *
 * <p>Only positional writes are used; the channel's position is left alone and the channel is not closed.
 */
public final class TorchZipWriter implements AutoCloseable {
    public static final int ALIGNMENT = 64;

    private static final int VERSION_ZIP64 = 45;
    private static final int VERSION_PLAIN = 20;
    private static final int DOS_DATE_1980_01_01 = (1 << 5) | 1;
    private static final int ZIP64_LOCAL_EXTRA_LEN = 4 + 16;

    /** One planned record; offsets are relative to the archive start. */
    private static final class Record {
        final String record;
        final byte[] name;
        final long localOffset;
        final long dataOffset;
        final long size;
        long crc = -1;

        Record(String record, byte[] name, long localOffset, long dataOffset, long size) {
            this.record = record;
            this.name = name;
            this.localOffset = localOffset;
            this.dataOffset = dataOffset;
            this.size = size;
        }

        boolean zip64Size() {
            return size >= MAGIC32;
        }

        boolean zip64Offset() {
            return localOffset >= MAGIC32;
        }
    }

    /** Where the archive's bytes go: positional writes only (a file channel, or memory for a small archive). */
    @FunctionalInterface
    public interface Sink {
        void write(ByteBuffer buf, long at) throws IOException;
    }

    private final Sink out;
    private final long startOffset;
    private final String prefix;
    private final List<Record> records = new ArrayList<>();
    private final Map<String, Record> reserved = new HashMap<>();
    private final Map<String, Record> byRecord = new HashMap<>();
    private long cursor;
    private long length = -1;

    /** Starts an archive at {@code startOffset} of {@code out} (0 for a file of its own, >0 for an item inside a {@code .distcp}). */
    public TorchZipWriter(FileChannel out, long startOffset, String prefix) {
        this((buf, at) -> {
            while (buf.hasRemaining()) at += out.write(buf, at);
        }, startOffset, prefix);
    }

    /** Starts an archive at {@code startOffset} of {@code out}. */
    public TorchZipWriter(Sink out, long startOffset, String prefix) {
        if (startOffset < 0) throw new IllegalArgumentException("negative start offset " + startOffset);
        if (prefix.isEmpty() || prefix.contains("/") || prefix.contains("\\") || prefix.equals(".") || prefix.equals("..") || prefix.indexOf('\0') >= 0)
            throw new IllegalArgumentException("bad archive prefix '" + prefix + "': need a plain folder name");
        this.out = out;
        this.startOffset = startOffset;
        this.prefix = prefix;
    }

    /** Writes a small record now (e.g. {@code data.pkl}, {@code version}, {@code byteorder}). */
    public void addSmall(String record, byte[] data) throws IOException {
        Record r = plan(record, data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        r.crc = crc.getValue();
        ByteBuffer buf = localHeader(r);
        ByteBuffer both = ByteBuffer.allocate(buf.remaining() + data.length);
        both.put(buf).put(data).flip();
        write(both, startOffset + r.localOffset);
    }

    /**
     * Reserves a STORED record of {@code size} bytes whose data start 64-byte aligned relative to the archive start,
     * and returns the absolute file offset where the caller must write exactly those bytes before {@link #finish}.
     */
    public long reserve(String record, long size) {
        if (size < 0) throw new IllegalArgumentException("negative size " + size + " for record " + record);
        Record r = plan(record, size);
        reserved.put(record, r);
        return startOffset + r.dataOffset;
    }

    /** Absolute file offset just past the records planned so far: where the central directory will start. */
    public long plannedLength() {
        return startOffset + cursor;
    }

    /** CRC-32 of a reserved record's bytes, once the caller has written them. */
    public void setCrc(String record, long crc32) {
        checkOpen();
        Record r = reserved.get(record);
        if (r == null) throw new IllegalArgumentException("no reserved record " + record);
        if (crc32 < 0 || crc32 > MAGIC32) throw new IllegalArgumentException("CRC-32 out of range: " + crc32);
        r.crc = crc32;
    }

    /**
     * Writes the local headers of reserved records, the central directory, the zip64 end record and locator and the
     * end record; returns the archive's length in bytes (the archive occupies {@code [startOffset, startOffset+length)}).
     */
    public long finish() throws IOException {
        if (length >= 0) return length;
        for (Record r : reserved.values())
            if (r.crc < 0) throw new IllegalStateException("CRC of reserved record " + r.record + " was never set");
        for (Record r : reserved.values()) write(localHeader(r), startOffset + r.localOffset);

        long cdOffset = cursor;
        int cdSize = 0;
        for (Record r : records) cdSize = Math.addExact(cdSize, CENTRAL_LEN + r.name.length + centralExtraLen(r));
        ByteBuffer buf = le(cdSize + ZIP64_END_LEN + ZIP64_LOCATOR_LEN + END_LEN);
        for (Record r : records) putCentral(buf, r);

        long zip64End = cdOffset + cdSize;
        buf.putInt(ZIP64_END_SIG).putLong(ZIP64_END_LEN - 12)
                .putShort((short) VERSION_ZIP64).putShort((short) VERSION_ZIP64)
                .putInt(0).putInt(0)
                .putLong(records.size()).putLong(records.size())
                .putLong(cdSize).putLong(cdOffset);
        buf.putInt(ZIP64_LOCATOR_SIG).putInt(0).putLong(zip64End).putInt(1);
        short count = (short) Math.min(records.size(), MAGIC16);
        buf.putInt(END_SIG).putShort((short) 0).putShort((short) 0).putShort(count).putShort(count)
                .putInt((int) Math.min(cdSize, MAGIC32)).putInt((int) Math.min(cdOffset, MAGIC32)).putShort((short) 0);
        buf.flip();
        write(buf, startOffset + cdOffset);
        length = cdOffset + buf.capacity();
        return length;
    }

    /** Finishes the archive if {@link #finish} was not called; the channel stays open (the caller owns it). */
    @Override
    public void close() throws IOException {
        finish();
    }

    private Record plan(String record, long size) {
        checkOpen();
        checkRecordName(record);
        if (byRecord.containsKey(record)) throw new IllegalArgumentException("record " + record + " added twice");
        byte[] name = (prefix + "/" + record).getBytes(StandardCharsets.UTF_8);
        if (name.length > MAGIC16) throw new IllegalArgumentException("record name too long: " + record);
        long localOffset = cursor;
        long dataOffset = alignedDataOffset(localOffset, name.length, size);
        Record r = new Record(record, name, localOffset, dataOffset, size);
        cursor = Math.addExact(dataOffset, size);
        records.add(r);
        byRecord.put(record, r);
        return r;
    }

    /** FORMATS.md §2.3: data start after header + name + [zip64 extra] + FB id/len, padded up to the alignment. */
    static long alignedDataOffset(long localOffset, int nameLen, long size) {
        long start = localOffset + LOCAL_LEN + nameLen + (size >= MAGIC32 ? ZIP64_LOCAL_EXTRA_LEN : 0) + 4;
        return start + padding(start);
    }

    private static int padding(long start) {
        return (int) ((ALIGNMENT - start % ALIGNMENT) % ALIGNMENT);
    }

    private ByteBuffer localHeader(Record r) {
        int zip64Len = r.zip64Size() ? ZIP64_LOCAL_EXTRA_LEN : 0;
        long fbStart = r.localOffset + LOCAL_LEN + r.name.length + zip64Len + 4;
        int pad = padding(fbStart);
        if (fbStart + pad != r.dataOffset) throw new AssertionError("layout drift for " + r.record);
        int extraLen = zip64Len + 4 + pad;
        ByteBuffer b = le(LOCAL_LEN + r.name.length + extraLen);
        b.putInt(LOCAL_SIG).putShort((short) (r.zip64Size() ? VERSION_ZIP64 : VERSION_PLAIN))
                .putShort((short) FLAG_UTF8).putShort((short) ZipEntryInfo.STORED)
                .putShort((short) 0).putShort((short) DOS_DATE_1980_01_01)
                .putInt((int) r.crc)
                .putInt((int) Math.min(r.size, MAGIC32)).putInt((int) Math.min(r.size, MAGIC32))
                .putShort((short) r.name.length).putShort((short) extraLen)
                .put(r.name);
        if (r.zip64Size()) b.putShort((short) ZIP64_EXTRA_ID).putShort((short) 16).putLong(r.size).putLong(r.size);
        b.putShort((short) FB_EXTRA_ID).putShort((short) pad);
        for (int i = 0; i < pad; i++) b.put((byte) 'Z');
        return b.flip();
    }

    private static int centralExtraLen(Record r) {
        int fields = (r.zip64Size() ? 16 : 0) + (r.zip64Offset() ? 8 : 0);
        return fields == 0 ? 0 : 4 + fields;
    }

    private static void putCentral(ByteBuffer b, Record r) {
        boolean zip64 = r.zip64Size() || r.zip64Offset();
        int extraLen = centralExtraLen(r);
        b.putInt(CENTRAL_SIG).putShort((short) VERSION_ZIP64).putShort((short) (zip64 ? VERSION_ZIP64 : VERSION_PLAIN))
                .putShort((short) FLAG_UTF8).putShort((short) ZipEntryInfo.STORED)
                .putShort((short) 0).putShort((short) DOS_DATE_1980_01_01)
                .putInt((int) r.crc)
                .putInt((int) Math.min(r.size, MAGIC32)).putInt((int) Math.min(r.size, MAGIC32))
                .putShort((short) r.name.length).putShort((short) extraLen).putShort((short) 0)
                .putShort((short) 0).putShort((short) 0).putInt(0)
                .putInt((int) Math.min(r.localOffset, MAGIC32))
                .put(r.name);
        if (extraLen > 0) {
            b.putShort((short) ZIP64_EXTRA_ID).putShort((short) (extraLen - 4));
            if (r.zip64Size()) b.putLong(r.size).putLong(r.size);
            if (r.zip64Offset()) b.putLong(r.localOffset);
        }
    }

    private static void checkRecordName(String record) {
        if (record.isEmpty() || record.startsWith("/") || record.indexOf('\0') >= 0 || record.contains("\\"))
            throw new IllegalArgumentException("bad record name '" + record + "'");
        for (String part : record.split("/", -1))
            if (part.isEmpty() || part.equals("..") || part.equals("."))
                throw new IllegalArgumentException("bad record name '" + record + "'");
    }

    private void checkOpen() {
        if (length >= 0) throw new IllegalStateException("archive already finished");
    }

    private static ByteBuffer le(int capacity) {
        return ByteBuffer.allocate(capacity).order(ByteOrder.LITTLE_ENDIAN);
    }

    private void write(ByteBuffer buf, long at) throws IOException {
        out.write(buf, at);
    }
}
