package ckpt.format.torchsave;

import ckpt.format.pickle.PickleWriter;
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
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32;

/**
 * Writes a {@code torch.save} zip that {@code torch.load(path, weights_only=True)} accepts (FORMATS.md §2.9), laid out
 * up front so every tensor's bytes go straight into a mapped region of the output file:
 * <ol>
 *   <li>{@link #tensor} declares each tensor (one storage each, keys {@code 0, 1, …} in declaration order);</li>
 *   <li>{@link #writeStructure} pickles the object tree (protocol 2, weights-only opcodes; tensors as
 *       {@code _rebuild_tensor_v2}/{@code _v3}), writes the small records and reserves every {@code data/<key>}
 *       record 64-byte aligned;</li>
 *   <li>per tensor: {@link #map} its region, fill it, {@link #complete} it (CRC-32 of the filled bytes);</li>
 *   <li>{@link #finish} writes the local headers of the reserved records and the central directory.</li>
 * </ol>
 * Record order is torch 2.7+'s: {@code data.pkl, .format_version, .storage_alignment, byteorder, data/…, version}.
 * The archive prefix is the file name without its extension, as {@code torch.save(obj, path)} chooses it.
 */
public final class TorchSaveWriter implements AutoCloseable {
    /** A tensor of the saved object: put it anywhere in the tree given to {@link #writeStructure}. */
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
            long n = 1;
            for (long d : shape) {
                if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
                n = Math.multiplyExact(n, d);
            }
            this.byteSize = Math.multiplyExact(n, (long) dtype.byteSize());
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

        long numel() {
            return byteSize / dtype.byteSize();
        }

        @Override
        public String toString() {
            return "tensor data/" + key + " " + dtype + Arrays.toString(shape);
        }
    }

    private final Path file;
    private final FileChannel channel;
    private final TorchZipWriter zip;
    private final List<TensorRecord> tensors = new ArrayList<>();
    private boolean structureWritten;
    private boolean finished;

    private TorchSaveWriter(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
        this.zip = new TorchZipWriter(channel, 0, prefixFor(file));
    }

    /** Creates {@code file} (which must not exist yet). */
    public static TorchSaveWriter create(Path file) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return new TorchSaveWriter(file, ch);
    }

    /** torch: {@code os.path.splitext(os.path.basename(path))[0]}; anything that is not plain ASCII becomes {@code archive}. */
    static String prefixFor(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name;
        boolean plain = !stem.isEmpty() && stem.chars().allMatch(c -> c > 0x20 && c < 0x7F && c != '/' && c != '\\')
                && !stem.equals(".") && !stem.equals("..");
        return plain ? stem : "archive";
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
     * Pickles {@code root} (maps, lists, {@link PyTuple}s, strings, numbers, booleans, null and
     * {@link TensorRecord}s) into {@code data.pkl}, writes the small records and reserves the storages.
     */
    public void writeStructure(Object root) throws IOException {
        if (structureWritten) throw new IllegalStateException("structure already written");
        structureWritten = true;
        List<TensorRecord> seen = new ArrayList<>();
        ByteArrayOutputStream pkl = new ByteArrayOutputStream();
        PickleWriter w = new PickleWriter(pkl).objectWriter((pw, value) -> {
            if (!(value instanceof TensorRecord t)) return false;
            if (t.owner != this || t.pickled)
                throw new IllegalArgumentException(t + " is not a tensor of this writer, or appears twice");
            t.pickled = true;
            seen.add(t);
            writeTensor(pw, t);
            return true;
        });
        w.proto();
        w.write(root);
        w.stop();
        if (seen.size() != tensors.size())
            throw new IllegalArgumentException((tensors.size() - seen.size()) + " declared tensors do not appear in the saved object");

        zip.addSmall("data.pkl", pkl.toByteArray());
        zip.addSmall(".format_version", ascii("1"));
        zip.addSmall(".storage_alignment", ascii(Integer.toString(TorchZipWriter.ALIGNMENT)));
        zip.addSmall("byteorder", ascii("little"));
        for (TensorRecord t : tensors) t.offset = zip.reserve("data/" + t.key, t.byteSize);
        zip.addSmall("version", ascii("3\n"));
    }

    /**
     * {@code _rebuild_tensor_v2(pid, 0, size, stride, False, OrderedDict())}, or {@code _rebuild_tensor_v3(…, dtype)}
     * with an {@code UntypedStorage} for dtypes that have no legacy storage class (FORMATS.md §2.4–2.5).
     */
    private static void writeTensor(PickleWriter w, TensorRecord t) {
        boolean typed = t.dtype.storageClass().isPresent();
        w.global_("torch._utils", typed ? "_rebuild_tensor_v2" : "_rebuild_tensor_v3");
        w.mark();
        // persistent id ('storage', storage_type, key, location, numel)
        w.mark();
        w.write("storage");
        if (typed) w.global_("torch", t.dtype.storageClass().get());
        else w.global_("torch.storage", "UntypedStorage");
        w.write(t.key);
        w.write("cpu");
        w.int_(typed ? t.numel() : t.byteSize);
        w.tuple();
        w.binPersId();
        w.int_(0);
        List<Object> size = new ArrayList<>(t.shape.length);
        for (long d : t.shape) size.add(d);
        List<Object> stride = new ArrayList<>(t.shape.length);
        for (long x : Shapes.contiguousStrides(t.shape)) stride.add(x);
        w.write(new PyTuple(size));
        w.write(new PyTuple(stride));
        w.newFalse();
        w.global_("collections", "OrderedDict");
        w.emptyTuple();
        w.reduce();
        w.put();
        if (!typed) w.write(t.dtype);
        w.tuple();
        w.reduce();
        w.put();
    }

    /** Absolute file offset of a tensor's bytes (after {@link #writeStructure}). */
    public long offset(TensorRecord t) {
        checkReserved(t);
        return t.offset;
    }

    /**
     * Maps the tensor's region of the output file read-write in {@code arena}; the caller fills exactly
     * {@link TensorRecord#byteSize()} bytes, then calls {@link #complete}. An empty tensor maps to an empty segment.
     */
    public MemorySegment map(TensorRecord t, Arena arena) throws IOException {
        checkReserved(t);
        if (t.byteSize == 0) return MemorySegment.NULL;
        return channel.map(FileChannel.MapMode.READ_WRITE, t.offset, t.byteSize, arena);
    }

    /** Records the CRC-32 of the tensor's filled bytes ({@code filled} is its mapped region, or an equal copy). */
    public void complete(TensorRecord t, MemorySegment filled) {
        checkReserved(t);
        if (filled.byteSize() != t.byteSize)
            throw new IllegalArgumentException(t + " has " + t.byteSize + " bytes, got " + filled.byteSize());
        zip.setCrc("data/" + t.key, crc32(filled));
        t.done = true;
    }

    /** Writes the central directory; every tensor must have been completed. Returns the file length. */
    public long finish() throws IOException {
        if (finished) return channel.size();
        if (!structureWritten) throw new IllegalStateException("writeStructure was never called");
        for (TensorRecord t : tensors) if (!t.done) throw new IllegalStateException(t + " was never completed");
        long length = zip.finish();
        channel.truncate(length);
        channel.force(true);
        finished = true;
        return length;
    }

    /** Closes the file; an unfinished archive is left as it is (the caller deletes it). */
    @Override
    public void close() throws IOException {
        channel.close();
    }

    public static long crc32(MemorySegment data) {
        CRC32 crc = new CRC32();
        long chunk = 1L << 30;
        for (long off = 0; off < data.byteSize(); off += chunk)
            crc.update(data.asSlice(off, Math.min(chunk, data.byteSize() - off)).asByteBuffer());
        return crc.getValue();
    }

    private void checkReserved(TensorRecord t) {
        if (!structureWritten || t.offset < 0 || t.owner != this)
            throw new IllegalStateException(t + " has no reserved region in " + file);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
