package ckpt.format.zip;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static ckpt.format.zip.ZipSpec.*;

/**
 * Reads the end records, the central directory and every local header of one archive held in a segment, checking
 * each offset, length and count against the segment before it is used. Offsets in the archive are relative to the
 * archive's first byte, which is the segment start for a DCP item window; when other bytes precede the archive (a
 * whole {@code .distcp} opened as one zip) its start is derived from where the central directory really is.
 */
final class ZipParser {
    /** Sorted, validated result: entries in central-directory order. */
    record Parsed(long archiveStart, List<ZipEntryInfo> entries, Map<String, ZipEntryInfo> byName) {
    }

    private static final Charset CP437 = Charset.isSupported("IBM437") ? Charset.forName("IBM437") : StandardCharsets.ISO_8859_1;

    private final Path file;
    private final long windowStart;
    private final MemorySegment seg;
    private final long size;

    ZipParser(Path file, long windowStart, MemorySegment seg) {
        this.file = file;
        this.windowStart = windowStart;
        this.seg = seg;
        this.size = seg.byteSize();
    }

    Parsed parse() {
        checkMagic();
        long end = findEnd();
        long disk = u16(seg, end + 4), cdDisk = u16(seg, end + 6);
        long entriesHere = u16(seg, end + 8), entries = u16(seg, end + 10);
        long cdSize = u32(seg, end + 12), cdOffset = u32(seg, end + 16);
        long cdEnd;
        long archiveStart;

        long locator = end - ZIP64_LOCATOR_LEN;
        if (locator >= 0 && i32(seg, locator) == ZIP64_LOCATOR_SIG) {
            long z64Offset = nonNegative(u64(seg, locator + 8), locator + 8, "zip64 end record offset");
            long totalDisks = u32(seg, locator + 16);
            if (u32(seg, locator + 4) != 0 || totalDisks > 1) throw error(locator, "multi-disk zip archives are not supported");
            long z64 = findZip64End(locator, z64Offset);
            archiveStart = z64 - z64Offset;
            disk = u32(seg, z64 + 16);
            cdDisk = u32(seg, z64 + 20);
            entriesHere = nonNegative(u64(seg, z64 + 24), z64 + 24, "entry count");
            entries = nonNegative(u64(seg, z64 + 32), z64 + 32, "entry count");
            cdSize = nonNegative(u64(seg, z64 + 40), z64 + 40, "central directory size");
            cdOffset = nonNegative(u64(seg, z64 + 48), z64 + 48, "central directory offset");
            cdEnd = z64;
        } else {
            if (entries == MAGIC16 || cdSize == MAGIC32 || cdOffset == MAGIC32)
                throw error(end, "end record defers to a zip64 record but there is no zip64 locator before it");
            cdEnd = end;
            if (cdSize > cdEnd || cdOffset > cdEnd - cdSize)
                throw error(end, "central directory (offset " + cdOffset + ", " + cdSize + " bytes) lies outside the "
                        + cdEnd + " bytes before the end record");
            archiveStart = cdEnd - cdSize - cdOffset;
        }
        if (disk != 0 || cdDisk != 0 || entriesHere != entries) throw error(end, "multi-disk zip archives are not supported");
        if (cdOffset > cdEnd - archiveStart || cdSize > cdEnd - archiveStart - cdOffset)
            throw error(end, "central directory (offset " + cdOffset + ", " + cdSize + " bytes) lies outside the archive, "
                    + "whose records end at offset " + (cdEnd - archiveStart));
        if (entries > cdSize / CENTRAL_LEN || entries > Integer.MAX_VALUE - 8)
            throw error(end, "absurd entry count " + entries + ": a central directory of " + cdSize + " bytes holds at most "
                    + cdSize / CENTRAL_LEN);
        return readCentralDirectory(archiveStart, archiveStart + cdOffset, cdSize, (int) entries);
    }

    private void checkMagic() {
        if (size >= 4) {
            int head = i32(seg, 0);
            if (head == LOCAL_SIG || head == END_SIG) return;
        }
        String hex = HexFormat.ofDelimiter(" ").formatHex(seg.asSlice(0, Math.min(4, size)).toArray(ValueLayout.JAVA_BYTE));
        String hint = size >= 2 && seg.get(ValueLayout.JAVA_BYTE, 0) == (byte) 0x80 && seg.get(ValueLayout.JAVA_BYTE, 1) == 2
                ? "; it starts like a pickle: a legacy (pre-1.6, non-zip) torch.save file?" : "";
        throw error(0, "not a zip archive (first bytes " + (hex.isEmpty() ? "none" : hex) + ", expected 50 4b 03 04)" + hint);
    }

    /** The classic end record: its comment must run exactly to the end of the segment. */
    private long findEnd() {
        long last = size - END_LEN;
        if (last < 0) throw error(0, "not a zip archive: " + size + " bytes cannot hold an end-of-central-directory record");
        long stop = Math.max(0, last - MAX_COMMENT);
        for (long p = last; p >= stop; p--) {
            if (i32(seg, p) == END_SIG && u16(seg, p + 20) == size - p - END_LEN) return p;
        }
        throw error(last, "not a zip archive or truncated: no end-of-central-directory record in the last "
                + (size - stop) + " bytes");
    }

    /**
     * PyTorch/miniz put the 56-byte zip64 end record right before the locator; look there first (this also works when
     * bytes precede the archive), then where the locator points.
     */
    private long findZip64End(long locator, long z64Offset) {
        long adjacent = locator - ZIP64_END_LEN;
        if (adjacent >= 0 && i32(seg, adjacent) == ZIP64_END_SIG && u64(seg, adjacent + 4) == ZIP64_END_LEN - 12) {
            if (z64Offset > adjacent) throw error(locator, "zip64 locator points past its own end record (offset " + z64Offset + ")");
            return adjacent;
        }
        if (z64Offset <= locator - ZIP64_END_LEN && i32(seg, z64Offset) == ZIP64_END_SIG) {
            long recordSize = u64(seg, z64Offset + 4);
            if (recordSize < ZIP64_END_LEN - 12 || recordSize > locator - z64Offset - 12)
                throw error(z64Offset, "zip64 end record has a bad size " + recordSize);
            return z64Offset;
        }
        throw error(locator, "no zip64 end record where the zip64 locator points (offset " + z64Offset + ")");
    }

    private Parsed readCentralDirectory(long archiveStart, long cdStart, long cdSize, int count) {
        long cdEnd = cdStart + cdSize;
        List<ZipEntryInfo> entries = new ArrayList<>(count);
        Map<String, ZipEntryInfo> byName = HashMap.newHashMap(count);
        long p = cdStart;
        for (int i = 0; i < count; i++) {
            if (p > cdEnd - CENTRAL_LEN) throw error(p, "central directory ends inside entry " + i);
            if (i32(seg, p) != CENTRAL_SIG) throw error(p, "central directory entry " + i + " has a bad signature");
            int flags = u16(seg, p + 8);
            int method = u16(seg, p + 10);
            long crc = u32(seg, p + 16);
            long compressed = u32(seg, p + 20);
            long uncompressed = u32(seg, p + 24);
            int nameLen = u16(seg, p + 28), extraLen = u16(seg, p + 30), commentLen = u16(seg, p + 32);
            long diskStart = u16(seg, p + 34);
            long localOffset = u32(seg, p + 42);
            long next = p + CENTRAL_LEN + nameLen + extraLen + commentLen;
            if (next > cdEnd) throw error(p, "central directory entry " + i + " runs past the end of the central directory");
            String name = decodeName(p + CENTRAL_LEN, nameLen, flags, i);

            // zip64 extended information: only the fields whose classic value is the 0xFFFF… sentinel, in this order
            long x = p + CENTRAL_LEN + nameLen, xEnd = x + extraLen;
            while (x <= xEnd - 4) {
                int id = u16(seg, x), len = u16(seg, x + 2);
                long body = x + 4;
                if (len > xEnd - body) throw error(x, "entry " + name + ": extra field overruns the central directory entry");
                if (id == ZIP64_EXTRA_ID) {
                    long q = body, qEnd = body + len;
                    if (uncompressed == MAGIC32) { uncompressed = extra64(q, qEnd, name, "size"); q += 8; }
                    if (compressed == MAGIC32) { compressed = extra64(q, qEnd, name, "compressed size"); q += 8; }
                    if (localOffset == MAGIC32) { localOffset = extra64(q, qEnd, name, "local header offset"); q += 8; }
                    if (diskStart == MAGIC16) {
                        if (q > qEnd - 4) throw error(q, "entry " + name + ": zip64 extra field too short");
                        diskStart = u32(seg, q);
                    }
                }
                x = body + len;
            }
            if (diskStart != 0) throw error(p, "entry " + name + ": multi-disk zip archives are not supported");
            if ((flags & FLAG_ENCRYPTED) != 0) throw error(p, "entry " + name + " is encrypted");
            if (method != ZipEntryInfo.STORED && method != ZipEntryInfo.DEFLATED)
                throw error(p, "entry " + name + " uses unsupported compression method " + method + " (only STORED and DEFLATE)");
            if (method == ZipEntryInfo.STORED && compressed != uncompressed)
                throw error(p, "STORED entry " + name + " has compressed size " + compressed + " != size " + uncompressed);

            long dataOffset = localData(archiveStart, cdStart, localOffset, compressed, p + CENTRAL_LEN, nameLen, name);
            ZipEntryInfo e = new ZipEntryInfo(name, method, compressed, uncompressed, crc, archiveStart + localOffset, dataOffset);
            if (byName.putIfAbsent(name, e) != null) throw error(p, "duplicate entry name " + name);
            entries.add(e);
            p = next;
        }
        if (p != cdEnd) throw error(p, "central directory has " + (cdEnd - p) + " bytes after its " + count + " entries");
        checkNoOverlap(entries);
        return new Parsed(archiveStart, List.copyOf(entries), byName);
    }

    /** Where the data start: after the LOCAL header's own name and extra (torch pads only there). */
    private long localData(long archiveStart, long cdStart, long localOffset, long compressed, long centralName, int nameLen, String name) {
        if (localOffset > cdStart - archiveStart - LOCAL_LEN)
            throw error(cdStart, "entry " + name + ": local header offset " + localOffset + " is not before the central directory");
        long lh = archiveStart + localOffset;
        if (i32(seg, lh) != LOCAL_SIG) throw error(lh, "entry " + name + ": no local header signature at offset " + localOffset);
        int localNameLen = u16(seg, lh + 26), localExtraLen = u16(seg, lh + 28);
        long data = lh + LOCAL_LEN + localNameLen + localExtraLen;
        if (data > cdStart || compressed > cdStart - data)
            throw error(lh, "entry " + name + ": data (" + compressed + " bytes from offset " + (data - archiveStart)
                    + ") run into the central directory or past the window");
        if (localNameLen != nameLen || MemorySegment.mismatch(seg, lh + LOCAL_LEN, lh + LOCAL_LEN + nameLen,
                seg, centralName, centralName + nameLen) != -1)
            throw error(lh, "entry " + name + ": local header names a different entry than the central directory");
        return data;
    }

    private void checkNoOverlap(List<ZipEntryInfo> entries) {
        if (entries.size() < 2) return;
        ZipEntryInfo[] sorted = entries.toArray(ZipEntryInfo[]::new);
        Arrays.sort(sorted, Comparator.comparingLong(ZipEntryInfo::localHeaderOffset));
        for (int i = 1; i < sorted.length; i++) {
            ZipEntryInfo prev = sorted[i - 1], cur = sorted[i];
            if (cur.localHeaderOffset() < prev.dataOffset() + prev.compressedSize())
                throw error(cur.localHeaderOffset(), "entries " + prev.name() + " and " + cur.name() + " overlap");
        }
    }

    private long extra64(long q, long qEnd, String name, String what) {
        if (q > qEnd - 8) throw error(q, "entry " + name + ": zip64 extra field too short for the " + what);
        return nonNegative(u64(seg, q), q, "entry " + name + " " + what);
    }

    private long nonNegative(long v, long at, String what) {
        if (v < 0) throw error(at, what + " " + Long.toUnsignedString(v) + " is beyond any real file");
        return v;
    }

    private String decodeName(long at, int len, int flags, int index) {
        byte[] b = seg.asSlice(at, len).toArray(ValueLayout.JAVA_BYTE);
        String name;
        if (isAscii(b)) {
            name = new String(b, StandardCharsets.US_ASCII);
        } else if ((flags & FLAG_UTF8) != 0) {
            try {
                name = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
            } catch (CharacterCodingException ex) {
                throw error(at, "central directory entry " + index + ": name is not valid UTF-8");
            }
        } else {
            name = new String(b, CP437);
        }
        checkName(name, at);
        return name;
    }

    /** Entry names become paths for callers that extract or map them: refuse anything that leaves the archive. */
    private void checkName(String name, long at) {
        if (name.isEmpty()) throw error(at, "entry with an empty name");
        if (name.indexOf('\0') >= 0) throw error(at, "entry name contains a NUL character: " + name.replace('\0', '?'));
        if (name.startsWith("/") || name.startsWith("\\") || (name.length() > 1 && name.charAt(1) == ':'))
            throw error(at, "entry name is an absolute path: " + name);
        for (String part : name.split("[/\\\\]", -1)) {
            if (part.equals("..")) throw error(at, "entry name escapes the archive with a '..' segment: " + name);
        }
    }

    private static boolean isAscii(byte[] b) {
        for (byte x : b) if (x < 0) return false;
        return true;
    }

    private ZipFormatException error(long at, String message) {
        return ZipFormatException.atOffset(file, windowStart + at, message);
    }
}
