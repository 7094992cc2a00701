package ckpt.format.torchsave;

import ckpt.format.PositionedWrite;
import ckpt.format.Writeback;
import ckpt.format.pickle.PickleWriter;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyGlobal;
import ckpt.format.pickle.PyTuple;
import ckpt.format.tensor.DType;
import ckpt.format.tensor.Shapes;
import ckpt.format.zip.TorchZipWriter;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.zip.CRC32;
import ckpt.format.zip.Crc32;

/**
 * The one writer of {@code torch.save} zip archives (FORMATS.md §2.2, §2.9) that
 * {@code torch.load(weights_only=True)} accepts: a whole {@code .pt} file ({@link #create}), or one archive at an
 * offset of an open channel ({@link #at}: a DCP item inside a {@code .distcp} file, §3.4). The layout is planned up
 * front so every large tensor's bytes go straight into a mapped region of the output:
 * <ol>
 *   <li>{@link #tensor} declares each large tensor (one storage each, keys {@code 0, 1, …} in declaration order);</li>
 *   <li>{@link #writeStructure} pickles the object tree (protocol 2, weights-only opcodes; tensors as
 *       {@code _rebuild_tensor_v2}/{@code _v3}), writes the small records and reserves every {@code data/<key>}
 *       record 64-byte aligned; {@link SmallTensor}s in the tree are written there and then;</li>
 *   <li>per declared tensor: {@link #map} its region, fill it, {@link #complete} it (CRC-32 of the filled bytes);</li>
 *   <li>{@link #finish} writes the local headers of the reserved records and the central directory.</li>
 * </ol>
 * {@link #writeTensor} and {@link #writeObject} do all four steps for {@code torch.save(tensor)} of one chunk and
 * {@code torch.save(obj)} of a small object.
 *
 * <p>Record order is torch 2.7+'s: {@code data.pkl, .format_version, .storage_alignment, byteorder, data/…, version},
 * then for an archive inside a stream {@code .data/serialization_id} as in torch's DCP items. Tensors are contiguous,
 * storage offset 0, little-endian.
 */
public final class TorchSaveWriter implements AutoCloseable {
    /** Archive prefix torch uses when saving to a stream (every DCP item). */
    public static final String STREAM_PREFIX = "archive";

    /** A large tensor of the saved object, filled later through {@link #map}: put it anywhere in the saved tree. */
    public static final class TensorRecord {
        private final TorchSaveWriter owner;
        private final String key;
        private final DType dtype;
        private final long[] shape;
        private final long byteSize;
        private long offset = -1;
        private boolean pickled;
        private boolean done;

        private TensorRecord(TorchSaveWriter owner, String key, DType dtype, long[] shape) {
            this.owner = owner;
            this.key = key;
            this.dtype = dtype;
            this.shape = shape.clone();
            this.byteSize = denseBytes(dtype, this.shape);
        }

        public String storageKey() {
            return key;
        }

        public DType dtype() {
            return dtype;
        }

        public long[] shape() {
            return shape.clone();
        }

        public long byteSize() {
            return byteSize;
        }

        @Override
        public String toString() {
            return "tensor data/" + key + " " + dtype + Arrays.toString(shape);
        }
    }

    /** A small tensor whose bytes are in hand (an rng state, a TE extra state): contiguous little-endian bytes. */
    public record SmallTensor(DType dtype, long[] shape, byte[] data) {
        public SmallTensor {
            shape = shape.clone();
            if (denseBytes(dtype, shape) != data.length)
                throw new IllegalArgumentException(data.length + " bytes for a " + dtype + Arrays.toString(shape) + " tensor");
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }
    }

    private final Path file;
    private final FileChannel channel;
    /** The channel's writes and forces (background writeback for a file of its own, see {@link #create(Path, Writeback)}). */
    private final Writeback.File out;
    private final boolean ownsChannel;
    private final TorchZipWriter zip;
    private final List<TensorRecord> tensors = new ArrayList<>();
    /** CRC-32 of every record in write order (-1 until a reserved one is completed), for the serialization id. */
    private final Map<String, Long> crcs = new LinkedHashMap<>();
    private boolean structureWritten;
    private long length = -1;

    private TorchSaveWriter(Path file, Writeback.File out, boolean ownsChannel, long offset, String prefix) {
        this.file = file;
        this.channel = out.channel();
        this.out = out;
        this.ownsChannel = ownsChannel;
        this.zip = new TorchZipWriter(channel, offset, prefix);
    }

    /** An archive at offset 0 of {@code sink} that is never mapped: measured, or built in memory. */
    private TorchSaveWriter(TorchZipWriter.Sink sink) {
        this.file = null;
        this.channel = null;
        this.out = null;
        this.ownsChannel = false;
        this.zip = new TorchZipWriter(sink, 0, STREAM_PREFIX);
    }

    /** Creates {@code file} (which must not exist yet) holding one archive; {@link #close} closes it. */
    public static TorchSaveWriter create(Path file) throws IOException {
        return create(file, Writeback.none());
    }

    /** {@link #create(Path)}, its tensor writes flushed in the background by {@code writeback} (the caller closes it). */
    public static TorchSaveWriter create(Path file, Writeback writeback) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return new TorchSaveWriter(file, writeback.track(file, ch), true, 0, prefixFor(file));
    }

    /**
     * Opens {@code file} for one of several processes that write the same archive in parts (ckpt convert --part):
     * created if absent, never truncated. Every process declares the same tensors and structure, so the layout is
     * identical in each; a process fills only its tensors' regions ({@link #presize} first), and the one that
     * completes the archive gives every CRC ({@link #complete(TensorRecord, long)}) and calls {@link #finish}.
     */
    public static TorchSaveWriter openShared(Path file) throws IOException {
        return openShared(file, Writeback.none());
    }

    /** {@link #openShared(Path)}, its tensor writes flushed in the background by {@code writeback}. */
    public static TorchSaveWriter openShared(Path file, Writeback writeback) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return new TorchSaveWriter(file, writeback.track(file, ch), true, 0, prefixFor(file));
    }

    /**
     * Grows the file past the last record (after {@link #writeStructure}) by writing one zero byte where the central
     * directory will start, so that mapping a region never resizes the file: a mapping that grows a file truncates it
     * to its own end, which would cut off a region another process is filling.
     */
    public void presize() throws IOException {
        if (!structureWritten) throw new IllegalStateException("writeStructure first");
        long end = zip.plannedLength();
        if (channel.size() <= end) channel.write(java.nio.ByteBuffer.wrap(new byte[1]), end);
    }

    /** Forces the bytes written so far to storage (a part's regions, before its completion marker is written). */
    public void force() throws IOException {
        out.force();
    }

    /**
     * An archive starting at {@code offset} of {@code channel} (of {@code file}, named in messages), prefix
     * {@value #STREAM_PREFIX}, as {@code torch.save} to a stream writes it. The channel stays the caller's: it is
     * neither truncated, forced nor closed.
     */
    public static TorchSaveWriter at(Path file, FileChannel channel, long offset) {
        return new TorchSaveWriter(file, Writeback.none().track(file, Objects.requireNonNull(channel)), false, offset, STREAM_PREFIX);
    }

    /**
     * {@code torch.save(tensor)} of one contiguous tensor at {@code offset} of {@code channel}; {@code fill} writes its
     * {@code numel × element size} little-endian bytes into the mapped record. Returns the archive length.
     */
    public static long writeTensor(Path file, FileChannel channel, long offset, DType dtype, long[] shape,
                                   Consumer<MemorySegment> fill) throws IOException {
        Objects.requireNonNull(fill);
        try (TorchSaveWriter w = at(file, channel, offset)) {
            TensorRecord t = w.tensor(dtype, shape);
            w.writeStructure(t);
            try (Arena arena = Arena.ofShared()) { // fill may hand parts of the region to other threads
                MemorySegment region = w.map(t, arena);
                fill.accept(region);
                w.complete(t, region);
            }
            return w.finish();
        }
    }

    /**
     * {@code torch.save(value)} at {@code offset} of {@code channel} of a pickle value tree (see
     * {@link #writeStructure}) whose tensors are {@link SmallTensor}s. Returns the archive length.
     */
    public static long writeObject(Path file, FileChannel channel, long offset, Object value) throws IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(objectArchive(value));
        long at = offset;
        while (b.hasRemaining()) at += channel.write(b, at);
        return b.capacity();
    }

    /**
     * The bytes {@link #writeObject} writes for {@code value}. An archive's offsets are relative to its own start, so
     * its bytes do not depend on where it is placed: a layout can be planned (and split among processes) first.
     */
    public static byte[] objectArchive(Object value) throws IOException {
        Memory m = new Memory();
        TorchSaveWriter w = new TorchSaveWriter(m);
        w.writeStructure(value);
        return Arrays.copyOf(m.bytes, Math.toIntExact(w.finish()));
    }

    /**
     * The length of the archive {@link #writeTensor} writes for a {@code dtype} tensor of {@code shape}: it follows
     * from dtype and shape alone (CRCs and the serialization id have fixed widths), so it is known before any byte is.
     */
    public static long tensorArchiveLength(DType dtype, long[] shape) {
        return tensorArchive(dtype, shape).length();
    }

    /** Where {@link #writeTensor}'s archive keeps the tensor's bytes, and its length; both relative to its start. */
    public record ArchivePlan(long dataOffset, long length) {
    }

    /** The layout of {@link #writeTensor}'s archive, from dtype and shape alone. */
    public static ArchivePlan tensorArchive(DType dtype, long[] shape) {
        try {
            TorchSaveWriter w = new TorchSaveWriter((buf, at) -> buf.position(buf.limit()));
            TensorRecord t = w.tensor(dtype, shape);
            w.writeStructure(t);
            w.complete(t, 0L);
            return new ArchivePlan(w.offset(t), w.finish());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e); // a sink that discards cannot fail
        }
    }

    /** A growing byte array written positionally (small archives only: objects, never tensor data). */
    private static final class Memory implements TorchZipWriter.Sink {
        byte[] bytes = new byte[4096];

        @Override
        public void write(java.nio.ByteBuffer buf, long at) {
            int end = Math.toIntExact(Math.addExact(at, buf.remaining()));
            if (end > bytes.length) bytes = Arrays.copyOf(bytes, Math.max(end, bytes.length * 2));
            buf.get(bytes, (int) at, buf.remaining());
        }
    }

    /** torch: {@code os.path.splitext(os.path.basename(path))[0]}; anything that is not plain ASCII becomes {@code archive}. */
    static String prefixFor(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name;
        boolean plain = !stem.isEmpty() && stem.chars().allMatch(c -> c > 0x20 && c < 0x7F && c != '/' && c != '\\')
                && !stem.equals(".") && !stem.equals("..");
        return plain ? stem : STREAM_PREFIX;
    }

    public Path file() {
        return file;
    }

    /** Declares a contiguous tensor with a storage of its own. */
    public TensorRecord tensor(DType dtype, long[] shape) {
        if (structureWritten) throw new IllegalStateException("tensors must be declared before writeStructure");
        TensorRecord t = new TensorRecord(this, Integer.toString(tensors.size()), Objects.requireNonNull(dtype), shape);
        tensors.add(t);
        return t;
    }

    /**
     * Pickles {@code root} (maps, lists, {@link PyTuple}s, {@link PyDict}s, {@code PyObject}s, strings, numbers,
     * booleans, null, {@link TensorRecord}s of this writer and {@link SmallTensor}s) into {@code data.pkl}, writes the
     * small records, reserves the declared tensors' storages and writes the small tensors' ones (keys after the
     * declared tensors', in pickle order).
     */
    public void writeStructure(Object root) throws IOException {
        if (structureWritten) throw new IllegalStateException("structure already written");
        structureWritten = true;
        List<TensorRecord> seen = new ArrayList<>();
        List<SmallTensor> small = new ArrayList<>();
        ByteArrayOutputStream pkl = new ByteArrayOutputStream();
        PickleWriter w = new PickleWriter(pkl).objectWriter((pw, value) -> {
            switch (value) {
                case TensorRecord t -> {
                    if (t.owner != this || t.pickled)
                        throw new IllegalArgumentException(t + " is not a tensor of this writer, or appears twice");
                    t.pickled = true;
                    seen.add(t);
                    rebuildTensor(pw, t.dtype, t.shape, t.key);
                }
                case SmallTensor t -> {
                    rebuildTensor(pw, t.dtype(), t.shape, Integer.toString(tensors.size() + small.size()));
                    small.add(t);
                }
                default -> {
                    return false;
                }
            }
            return true;
        });
        w.proto();
        w.write(root);
        w.stop();
        if (seen.size() != tensors.size())
            throw new IllegalArgumentException((tensors.size() - seen.size()) + " declared tensors do not appear in the saved object");

        addSmall("data.pkl", pkl.toByteArray());
        addSmall(".format_version", ascii("1"));
        addSmall(".storage_alignment", ascii(Integer.toString(TorchZipWriter.ALIGNMENT)));
        addSmall("byteorder", ascii("little"));
        for (TensorRecord t : tensors) {
            t.offset = zip.reserve("data/" + t.key, t.byteSize);
            crcs.put("data/" + t.key, -1L);
        }
        for (int i = 0; i < small.size(); i++) addSmall("data/" + (tensors.size() + i), small.get(i).data);
        addSmall("version", ascii("3\n"));
    }

    /** The {@code data.pkl} of {@code torch.save(t)} for a contiguous tensor stored as storage {@code "0"}. */
    public static byte[] tensorPickle(DType dtype, long[] shape) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(192);
        PickleWriter w = new PickleWriter(out);
        w.proto();
        rebuildTensor(w, dtype, shape, "0");
        w.stop();
        return out.toByteArray();
    }

    /**
     * {@code _rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())}, or {@code _rebuild_tensor_v3(…, dtype)}
     * with an {@code UntypedStorage} for dtypes that have no legacy storage class (FORMATS.md §2.4–2.5), memoized as
     * CPython's pickler does, so one tensor's pickle is byte-identical to torch's.
     */
    private static void rebuildTensor(PickleWriter w, DType dtype, long[] shape, String key) {
        long numel = Shapes.numel(shape);
        boolean typed = dtype.storageClass().isPresent();
        w.global_("torch._utils", typed ? "_rebuild_tensor_v2" : "_rebuild_tensor_v3");
        w.mark();
        // persistent id ('storage', storage_type, key, location, numel)
        w.write(PyTuple.of("storage", typed ? new PyGlobal("torch", dtype.storageClass().get())
                : new PyGlobal("torch.storage", "UntypedStorage"), key, "cpu",
                typed ? numel : Math.multiplyExact(numel, dtype.byteSize())));
        w.binPersId();
        w.write(0L);
        w.write(longs(shape));
        w.write(longs(Shapes.contiguousStrides(shape)));
        w.write(false);
        w.write(new PyDict(new PyGlobal("collections", "OrderedDict")));
        if (!typed) w.write(dtype);
        w.tuple();
        w.put();
        w.reduce();
        w.put();
    }

    /** Absolute file offset of a tensor's bytes (after {@link #writeStructure}). */
    public long offset(TensorRecord t) {
        checkReserved(t);
        return t.offset;
    }

    /**
     * Maps the tensor's region of the output read-write in {@code arena}; the caller fills exactly
     * {@link TensorRecord#byteSize()} bytes, then calls {@link #complete}. An empty tensor maps to an empty segment.
     */
    public MemorySegment map(TensorRecord t, Arena arena) throws IOException {
        checkReserved(t);
        if (t.byteSize == 0) return MemorySegment.NULL;
        return channel.map(FileChannel.MapMode.READ_WRITE, t.offset, t.byteSize, arena);
    }

    /**
     * Maps bytes {@code [from, from+length)} of the tensor's region read-write in {@code arena}, for filling a
     * tensor in parts (from several threads at once: parts are disjoint and the channel's map is thread-safe).
     */
    public MemorySegment map(TensorRecord t, long from, long length, Arena arena) throws IOException {
        checkReserved(t);
        if (from < 0 || length < 0 || from + length > t.byteSize)
            throw new IllegalArgumentException("[" + from + ", " + (from + length) + ") outside the " + t.byteSize + " bytes of " + t);
        if (length == 0) return MemorySegment.NULL;
        return channel.map(FileChannel.MapMode.READ_WRITE, t.offset + from, length, arena);
    }

    /**
     * Writes {@code bytes} at byte {@code from} of the tensor's region (positioned writes: from several threads at
     * once for disjoint ranges), for filling a tensor in parts without mapping it ({@link PositionedWrite}).
     */
    public void write(TensorRecord t, long from, MemorySegment bytes) throws IOException {
        checkReserved(t);
        long length = bytes.byteSize();
        if (from < 0 || from + length > t.byteSize)
            throw new IllegalArgumentException("[" + from + ", " + (from + length) + ") outside the " + t.byteSize + " bytes of " + t);
        out.write(bytes, t.offset + from);
    }

    /**
     * Records the CRC-32 of the tensor's filled bytes ({@code filled} is its mapped region, or an equal copy) and
     * returns it.
     */
    public long complete(TensorRecord t, MemorySegment filled) {
        if (filled.byteSize() != t.byteSize)
            throw new IllegalArgumentException(t + " has " + t.byteSize + " bytes, got " + filled.byteSize());
        long crc = Crc32.of(filled);
        complete(t, crc);
        return crc;
    }

    /**
     * Records the CRC-32 of the tensor's bytes, computed by the caller (combined from parts, {@link Crc32}) or by
     * another process that wrote them.
     */
    public synchronized void complete(TensorRecord t, long crc) {
        checkReserved(t);
        zip.setCrc("data/" + t.key, crc);
        crcs.put("data/" + t.key, crc);
        t.done = true;
    }

    /**
     * Writes the central directory (every declared tensor must have been completed); a whole file is then truncated
     * to the archive and forced. Returns the archive length.
     */
    public synchronized long finish() throws IOException {
        if (length >= 0) return length;
        if (!structureWritten) throw new IllegalStateException("writeStructure was never called");
        for (TensorRecord t : tensors) if (!t.done) throw new IllegalStateException(t + " was never completed");
        if (!ownsChannel) addSmall(".data/serialization_id", serializationId(crcs));
        long n = zip.finish();
        if (ownsChannel) {
            channel.truncate(n);
            out.force();
        }
        length = n;
        return n;
    }

    /** Closes a file of its own (an unfinished archive is left as it is: the caller deletes it); a stream's channel stays open. */
    @Override
    public void close() throws IOException {
        if (ownsChannel) channel.close();
    }

    private void addSmall(String record, byte[] data) throws IOException {
        zip.addSmall(record, data);
        CRC32 c = new CRC32();
        c.update(data);
        crcs.put(record, c.getValue());
    }

    /**
     * 40 decimal digits like torch's: a 20-digit hash of the record names, then a 20-digit combination of their
     * CRCs. torch only uses it as an identifier, so any stable value is valid; ours is deterministic.
     */
    static byte[] serializationId(Map<String, Long> crcs) {
        long nameHash = 0xcbf29ce484222325L;
        long crcHash = 0;
        for (Map.Entry<String, Long> e : crcs.entrySet()) {
            for (byte b : e.getKey().getBytes(StandardCharsets.UTF_8)) nameHash = (nameHash ^ (b & 0xFF)) * 0x100000001b3L;
            crcHash = crcHash * 31 + e.getValue();
        }
        return (pad20(nameHash) + pad20(crcHash)).getBytes(StandardCharsets.US_ASCII);
    }

    private static String pad20(long v) {
        String s = Long.toUnsignedString(v);
        return "0".repeat(20 - s.length()) + s;
    }

    private void checkReserved(TensorRecord t) {
        if (!structureWritten || t.offset < 0 || t.owner != this)
            throw new IllegalStateException(t + " has no reserved region in " + file);
    }

    private static long denseBytes(DType dtype, long[] shape) {
        for (long d : shape)
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
        return Shapes.byteSize(shape, dtype);
    }

    private static PyTuple longs(long[] v) {
        List<Object> l = new ArrayList<>(v.length);
        for (long x : v) l.add(x);
        return new PyTuple(l);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
