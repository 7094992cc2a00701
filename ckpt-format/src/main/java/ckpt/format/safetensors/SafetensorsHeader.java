package ckpt.format.safetensors;

import ckpt.format.tensor.Shapes;
import ckpt.format.tensor.DType;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The parsed and validated header of one safetensors blob:
 * {@code u64 LE N | N bytes of JSON | byte buffer}. Validation follows the reference reader
 * ({@code SafeTensors::read_metadata} + {@code Metadata::validate}) and runs completely before anything is returned,
 * so callers can slice tensor bytes without further checks.
 */
public final class SafetensorsHeader {
    /** The reference reader's {@code MAX_HEADER_SIZE}. */
    public static final long MAX_HEADER_LENGTH = 100_000_000L;
    /** Far above any real tensor; bounds the memory a hostile shape can claim. */
    static final int MAX_RANK = 255;
    private static final String METADATA_KEY = "__metadata__";

    private final Path file;
    private final long blobOffset;
    private final long headerLength;
    private final long bufferLength;
    private final List<SafetensorsEntry> entries;
    private final Map<String, SafetensorsEntry> byName;
    private final Map<String, String> metadata;

    private SafetensorsHeader(Path file, long blobOffset, long headerLength, long bufferLength,
                              List<SafetensorsEntry> entries, Map<String, String> metadata) {
        this.file = file;
        this.blobOffset = blobOffset;
        this.headerLength = headerLength;
        this.bufferLength = bufferLength;
        this.entries = List.copyOf(entries);
        Map<String, SafetensorsEntry> index = HashMap.newHashMap(entries.size());
        for (SafetensorsEntry e : entries) index.put(e.name(), e);
        this.byName = Collections.unmodifiableMap(index);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /**
     * Parses the header of a blob that must fill {@code [blobOffset, blobOffset + available)} exactly, as the
     * reference requires of a whole file ({@code available = file length - blobOffset}); also right for DCP's
     * {@code SerializationFormat.SAFETENSORS} blob, which is the last thing written to its {@code .distcp} file.
     */
    public static SafetensorsHeader read(Path file, FileChannel ch, long blobOffset, long available) {
        return parse(file, ch, blobOffset, available, true);
    }

    /**
     * Parses the header of a blob embedded in a larger file: its length is derived from the header and it only has
     * to fit in {@code available} bytes; whatever follows it is not looked at.
     */
    public static SafetensorsHeader readEmbedded(Path file, FileChannel ch, long blobOffset, long available) {
        return parse(file, ch, blobOffset, available, false);
    }

    private static SafetensorsHeader parse(Path file, FileChannel ch, long blobOffset, long available,
                                           boolean exact) {
        long size;
        try {
            size = ch.size();
        } catch (IOException e) {
            throw new SafetensorsException(file, null, "cannot read file size: " + e.getMessage(), e);
        }
        if (blobOffset < 0 || available < 0 || blobOffset > size || available > size - blobOffset) {
            throw SafetensorsException.atOffset(file, blobOffset, "safetensors region of " + available
                    + " bytes does not lie inside the file (" + size + " bytes)");
        }
        if (available < 8) {
            throw SafetensorsException.atOffset(file, blobOffset, "only " + available
                    + " bytes where a safetensors blob needs at least 8 (header length)");
        }
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        try {
            RegionInputStream.readFully(ch, len, blobOffset);
        } catch (IOException e) {
            throw SafetensorsException.atOffset(file, blobOffset, "cannot read header length: " + e.getMessage());
        }
        long n = len.getLong(0);
        if (n < 0 || n > MAX_HEADER_LENGTH) {
            throw SafetensorsException.atOffset(file, blobOffset, "header length " + Long.toUnsignedString(n)
                    + " exceeds the safetensors limit of " + MAX_HEADER_LENGTH + " bytes");
        }
        if (n > available - 8) {
            throw SafetensorsException.atOffset(file, blobOffset, "header length " + n + " runs past the end of the "
                    + (exact ? "file" : "region") + " (" + (available - 8) + " bytes after the length field)");
        }
        long dataStart = blobOffset + 8 + n;
        Parsed parsed;
        try (JsonParser p = JsonLimits.parser(new RegionInputStream(ch, blobOffset + 8, dataStart), n, 4)) {
            parsed = new HeaderJson(file, p).parse();
        } catch (SafetensorsException e) {
            throw e;
        } catch (CharacterCodingException e) {
            throw SafetensorsException.atOffset(file, blobOffset + 8, "header is not valid UTF-8");
        } catch (JsonProcessingException e) {
            long at = e.getLocation() == null || e.getLocation().getCharOffset() < 0 ? blobOffset + 8
                    : blobOffset + 8 + e.getLocation().getCharOffset();
            throw new SafetensorsException(file, "at header character " + (at - blobOffset - 8),
                    "header is not valid JSON: " + JsonLimits.oneLine(e), e);
        } catch (IOException e) {
            throw SafetensorsException.atOffset(file, blobOffset + 8, "cannot read header: " + e.getMessage());
        }

        List<SafetensorsEntry> entries = parsed.entries;
        // The reference sorts by (begin, end) before checking that entries tile the buffer, so any name order is fine.
        entries.sort(Comparator.comparingLong(SafetensorsEntry::begin).thenComparingLong(SafetensorsEntry::end));
        long expect = 0;
        for (SafetensorsEntry e : entries) {
            if (e.begin() != expect) {
                String problem = e.begin() > expect ? "leaves a hole: data_offsets start at " + e.begin()
                        + " but the previous tensor ends at " + expect
                        : "overlaps another tensor: data_offsets start at " + e.begin()
                        + " but the previous tensor ends at " + expect;
                throw SafetensorsException.forTensor(file, e.name(), problem);
            }
            expect = e.end();
        }
        long bufferLength = expect;
        long room = available - 8 - n;
        if (exact ? bufferLength != room : bufferLength > room) {
            throw SafetensorsException.atOffset(file, dataStart, "tensors cover " + bufferLength
                    + " bytes of data but " + room + " bytes " + (exact ? "follow the header"
                    : "are available after the header") + (exact && bufferLength < room
                    ? " (trailing bytes)" : " (truncated)"));
        }
        return new SafetensorsHeader(file, blobOffset, n, bufferLength, entries, parsed.metadata);
    }

    public Path file() {
        return file;
    }

    /** Absolute file offset of the blob (of its 8-byte length field). */
    public long blobOffset() {
        return blobOffset;
    }

    /** N, the JSON byte length including padding. */
    public long headerLength() {
        return headerLength;
    }

    /** Absolute file offset of the byte buffer; entry offsets are relative to it. */
    public long dataStart() {
        return blobOffset + 8 + headerLength;
    }

    public long bufferLength() {
        return bufferLength;
    }

    /** 8 + N + buffer length. */
    public long blobLength() {
        return 8 + headerLength + bufferLength;
    }

    /** In buffer order. */
    public List<SafetensorsEntry> entries() {
        return entries;
    }

    public Optional<SafetensorsEntry> entry(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** {@code __metadata__}, in file order; empty when absent. */
    public Map<String, String> metadata() {
        return metadata;
    }

    private record Parsed(List<SafetensorsEntry> entries, Map<String, String> metadata) {
    }

    /** Streams the header object; rejects anything that is not exactly the safetensors schema. */
    private static final class HeaderJson {
        private final Path file;
        private final JsonParser p;

        HeaderJson(Path file, JsonParser p) {
            this.file = file;
            this.p = p;
        }

        Parsed parse() throws IOException {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw header("header JSON is not an object");
            }
            List<SafetensorsEntry> entries = new ArrayList<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                if (name.equals(METADATA_KEY)) readMetadata(metadata);
                else entries.add(readEntry(name));
            }
            if (t != JsonToken.END_OBJECT) throw header("header JSON is malformed");
            if (p.nextToken() != null) throw header("unexpected content after the header JSON object");
            return new Parsed(entries, metadata);
        }

        private void readMetadata(Map<String, String> into) throws IOException {
            JsonToken t = p.nextToken();
            if (t == JsonToken.VALUE_NULL) return; // serde's Option accepts null for "no metadata"
            if (t != JsonToken.START_OBJECT) throw header("__metadata__ is not an object");
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                if (p.nextToken() != JsonToken.VALUE_STRING) {
                    throw new SafetensorsException(file, "__metadata__ key " + SafetensorsException.quote(key),
                            "__metadata__ values must be strings");
                }
                into.put(key, p.getText());
            }
        }

        private SafetensorsEntry readEntry(String name) throws IOException {
            if (p.nextToken() != JsonToken.START_OBJECT) throw tensor(name, "entry is not an object");
            String dtypeName = null;
            long[] shape = null;
            long[] offsets = null;
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                switch (field) {
                    case "dtype" -> {
                        if (p.nextToken() != JsonToken.VALUE_STRING) throw tensor(name, "dtype is not a string");
                        dtypeName = p.getText();
                    }
                    case "shape" -> shape = readUnsignedArray(name, "shape", MAX_RANK);
                    case "data_offsets" -> {
                        offsets = readUnsignedArray(name, "data_offsets", 2);
                        if (offsets.length != 2) throw tensor(name, "data_offsets must be [begin, end]");
                    }
                    default -> throw tensor(name, "unexpected field " + SafetensorsException.quote(field));
                }
            }
            if (dtypeName == null) throw tensor(name, "missing dtype");
            if (shape == null) throw tensor(name, "missing shape");
            if (offsets == null) throw tensor(name, "missing data_offsets");
            DType dtype = dtype(name, dtypeName);
            long begin = offsets[0], end = offsets[1];
            if (end < begin) throw tensor(name, "data_offsets end " + end + " is before begin " + begin);
            long bytes;
            try {
                long bits = Math.multiplyExact(Shapes.numel(shape), (long) dtype.bits());
                if (bits % 8 != 0) throw tensor(name, "shape " + Arrays.toString(shape) + " is not a whole number of bytes");
                bytes = bits / 8;
            } catch (ArithmeticException e) {
                throw tensor(name, "shape " + Arrays.toString(shape) + " overflows 64-bit byte counts");
            }
            if (end - begin != bytes) {
                throw tensor(name, "data_offsets [" + begin + ", " + end + "] hold " + (end - begin)
                        + " bytes but " + dtypeName + Arrays.toString(shape) + " needs " + bytes);
            }
            return new SafetensorsEntry(name, dtype, shape, begin, end);
        }

        private DType dtype(String tensor, String name) {
            Optional<DType> d = DType.fromSafetensorsName(name);
            if (d.isPresent()) return d.get();
            if (SafetensorsDtypes.UNSUPPORTED.contains(name)) {
                throw tensor(tensor, "dtype " + name + " (packed sub-byte float) is unsupported by ckpt");
            }
            throw tensor(tensor, "unknown dtype " + SafetensorsException.quote(name));
        }

        private long[] readUnsignedArray(String tensor, String field, int max) throws IOException {
            if (p.nextToken() != JsonToken.START_ARRAY) throw tensor(tensor, field + " is not an array");
            long[] out = new long[Math.min(max, 8)];
            int n = 0;
            JsonToken t;
            while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                if (t != JsonToken.VALUE_NUMBER_INT) throw tensor(tensor, field + " holds a non-integer");
                if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                    throw tensor(tensor, field + " value " + p.getText() + " is too large");
                }
                long v = p.getLongValue();
                if (v < 0) throw tensor(tensor, field + " value " + v + " is negative");
                if (n == max) throw tensor(tensor, field + " has more than " + max + " elements");
                if (n == out.length) out = Arrays.copyOf(out, Math.min(max, out.length * 2));
                out[n++] = v;
            }
            return Arrays.copyOf(out, n);
        }

        private SafetensorsException header(String message) {
            long at = p.currentLocation().getCharOffset();
            return new SafetensorsException(file, at < 0 ? null : "at header character " + at, message);
        }

        private SafetensorsException tensor(String name, String message) {
            return SafetensorsException.forTensor(file, name, message);
        }
    }
}
