package ckpt.format.safetensors;

import ckpt.format.tensor.DType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Plans a safetensors file up front, byte-compatible with the reference writer ({@code tensor.rs::prepare}), so
 * tensor bytes can be written straight into a mapped region: tensors ordered by dtype descending in the reference
 * enum order, then by name; compact JSON with {@code __metadata__} first; spaces up to a multiple of 8.
 */
public final class SafetensorsWriter {
    private final Map<String, String> metadata;
    private final Map<String, Planned> tensors = new LinkedHashMap<>();

    /** No {@code __metadata__} key, like {@code save_file(tensors)} without metadata. */
    public SafetensorsWriter() {
        this.metadata = null;
    }

    /**
     * {@code __metadata__} in the given iteration order (the reference writes a hash map's order, so only
     * single-key metadata such as {@code {"format": "pt"}} is reproducible exactly); null means no key at all.
     */
    public SafetensorsWriter(Map<String, String> metadata) {
        if (metadata == null) {
            this.metadata = null;
            return;
        }
        Map<String, String> copy = new LinkedHashMap<>();
        metadata.forEach((k, v) -> copy.put(JsonText.requireWellFormed(Objects.requireNonNull(k), "metadata key"),
                JsonText.requireWellFormed(Objects.requireNonNull(v, "metadata value of " + k), "metadata value")));
        this.metadata = Collections.unmodifiableMap(copy);
    }

    public void add(String name, DType dtype, long[] shape) {
        Objects.requireNonNull(name, "name");
        JsonText.requireWellFormed(name, "tensor name");
        if (name.equals("__metadata__")) throw new IllegalArgumentException("'__metadata__' is reserved");
        if (tensors.containsKey(name)) throw new IllegalArgumentException("tensor '" + name + "' added twice");
        int rank = SafetensorsDtypes.rank(dtype);
        if (rank < 0) throw new IllegalArgumentException("safetensors cannot store dtype " + dtype);
        long numel = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            numel = Math.multiplyExact(numel, d);
        }
        long bytes = Math.multiplyExact(numel, (long) dtype.byteSize());
        tensors.put(name, new Planned(name, dtype, rank, shape.clone(), bytes));
    }

    /** The planned file: header (with its length field), each tensor's absolute offset in buffer order, file length. */
    public Layout layout() {
        List<Planned> order = new ArrayList<>(tensors.values());
        order.sort((a, b) -> a.rank != b.rank ? Integer.compare(b.rank, a.rank) : JsonText.compare(a.name, b.name));

        StringBuilder json = new StringBuilder().append('{');
        if (metadata != null) {
            JsonText.serde(json, "__metadata__");
            json.append(":{");
            boolean first = true;
            for (var e : metadata.entrySet()) {
                if (!first) json.append(',');
                first = false;
                JsonText.serde(json, e.getKey());
                json.append(':');
                JsonText.serde(json, e.getValue());
            }
            json.append('}');
        }
        long offset = 0;
        long[] begins = new long[order.size()];
        for (int i = 0; i < order.size(); i++) {
            Planned t = order.get(i);
            if (metadata != null || i > 0) json.append(',');
            JsonText.serde(json, t.name);
            json.append(":{\"dtype\":\"").append(t.dtype.safetensorsName().orElseThrow()).append("\",\"shape\":[");
            for (int d = 0; d < t.shape.length; d++) json.append(d == 0 ? "" : ",").append(t.shape[d]);
            begins[i] = offset;
            offset = Math.addExact(offset, t.bytes);
            json.append("],\"data_offsets\":[").append(begins[i]).append(',').append(offset).append("]}");
        }
        json.append('}');

        byte[] utf8 = json.toString().getBytes(StandardCharsets.UTF_8);
        int n = (utf8.length + 7) / 8 * 8;
        if (n > SafetensorsHeader.MAX_HEADER_LENGTH) {
            throw new IllegalStateException("header of " + n + " bytes exceeds the safetensors reader limit");
        }
        byte[] header = new byte[8 + n];
        ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).putLong(n);
        System.arraycopy(utf8, 0, header, 8, utf8.length);
        Arrays.fill(header, 8 + utf8.length, header.length, (byte) ' ');

        Map<String, Long> absolute = new LinkedHashMap<>();
        for (int i = 0; i < order.size(); i++) absolute.put(order.get(i).name, header.length + begins[i]);
        return new Layout(header, absolute, Math.addExact(header.length, offset));
    }

    /**
     * Writes the file through a writable mapping; {@code bytesOf} gives each tensor's C-contiguous little-endian
     * bytes, which must be exactly as long as planned.
     */
    public void write(Path file, Function<String, MemorySegment> bytesOf) {
        Layout layout = layout();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ, StandardOpenOption.WRITE);
             Arena arena = Arena.ofConfined()) {
            MemorySegment out = ch.map(FileChannel.MapMode.READ_WRITE, 0, layout.fileLength(), arena);
            MemorySegment.copy(MemorySegment.ofArray(layout.headerBytes()), 0, out, 0, layout.headerBytes().length);
            for (var e : layout.absoluteOffsets().entrySet()) {
                Planned t = tensors.get(e.getKey());
                MemorySegment src = bytesOf.apply(t.name);
                if (src == null || src.byteSize() != t.bytes) {
                    throw new IllegalArgumentException("tensor '" + t.name + "' needs " + t.bytes + " bytes, got "
                            + (src == null ? "none" : src.byteSize()));
                }
                MemorySegment.copy(src, 0, out, e.getValue(), t.bytes);
            }
            out.force();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /**
     * @param headerBytes     the 8-byte little-endian length followed by the padded JSON
     * @param absoluteOffsets tensor name → file offset of its first byte, in buffer order
     * @param fileLength      header plus all tensor bytes
     */
    public record Layout(byte[] headerBytes, Map<String, Long> absoluteOffsets, long fileLength) {
        public Layout {
            headerBytes = headerBytes.clone();
            absoluteOffsets = Collections.unmodifiableMap(new LinkedHashMap<>(absoluteOffsets));
        }

        @Override
        public byte[] headerBytes() {
            return headerBytes.clone();
        }
    }

    private record Planned(String name, DType dtype, int rank, long[] shape, long bytes) {
    }
}
