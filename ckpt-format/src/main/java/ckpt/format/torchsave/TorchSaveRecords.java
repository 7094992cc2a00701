package ckpt.format.torchsave;

import ckpt.format.pickle.PickleWriter;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyGlobal;
import ckpt.format.pickle.PyTuple;
import ckpt.format.tensor.DType;
import ckpt.format.zip.TorchZipWriter;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.zip.CRC32;

/**
 * Writes single {@code torch.save} archives (FORMATS.md §2.2, §2.9) at an offset of a shared file — one DCP item
 * inside a {@code .distcp} file (§3.4): {@code torch.save(tensor)} of one chunk, or {@code torch.save(obj)} of a
 * small object. (Whole {@code .pt} files with many tensors: {@link TorchSaveWriter}.) Records in the order torch ≥ 2.7 writes them:
 * {@code data.pkl}, {@code .format_version}, {@code .storage_alignment}, {@code byteorder}, {@code data/<key>}…,
 * {@code version}, {@code .data/serialization_id}. Pickles are protocol 2 in the subset
 * {@code torch.load(weights_only=True)} accepts; tensors are contiguous, storage offset 0.
 */
public final class TorchSaveRecords {
    /** Archive prefix torch uses when saving to a stream (every DCP item). */
    public static final String STREAM_PREFIX = "archive";

    /** A small tensor inside a saved object (an rng state, a TE extra state): contiguous little-endian bytes. */
    public record Tensor(DType dtype, long[] shape, byte[] data) {
        public Tensor {
            shape = shape.clone();
            long n = numel(shape);
            if (Math.multiplyExact(n, dtype.byteSize()) != data.length)
                throw new IllegalArgumentException(data.length + " bytes for a " + dtype + Arrays.toString(shape) + " tensor");
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }
    }

    private TorchSaveRecords() {
    }

    /**
     * {@code torch.save(tensor)} of one contiguous tensor whose bytes {@code fill} writes into the mapped record
     * (exactly {@code numel × element size} bytes, little-endian). Returns the archive length.
     */
    public static long writeTensor(FileChannel ch, long offset, String prefix, DType dtype, long[] shape,
                                   Consumer<MemorySegment> fill) throws IOException {
        Objects.requireNonNull(fill);
        long nbytes = Math.multiplyExact(numel(shape), dtype.byteSize());
        TorchZipWriter zip = new TorchZipWriter(ch, offset, prefix);
        byte[] pkl = tensorPickle(dtype, shape);
        zip.addSmall("data.pkl", pkl);
        List<String> names = new ArrayList<>(List.of("data.pkl"));
        List<Long> crcs = new ArrayList<>(List.of(crc(pkl)));
        header(zip, names, crcs);
        long at = zip.reserve("data/0", nbytes);
        long crc = fillMapped(ch, at, nbytes, fill);
        zip.setCrc("data/0", crc);
        names.add("data/0");
        crcs.add(crc);
        trailer(zip, names, crcs);
        return zip.finish();
    }

    /**
     * {@code torch.save(value)} of a pickle value tree (dicts, lists, tuples, {@link PyDict}, Namespaces as
     * {@code PyObject}s, …) whose {@link Tensor} leaves become storages {@code 0, 1, …}. Returns the archive length.
     */
    public static long writeObject(FileChannel ch, long offset, String prefix, Object value) throws IOException {
        List<Tensor> storages = new ArrayList<>();
        ByteArrayOutputStream pkl = new ByteArrayOutputStream();
        PickleWriter w = new PickleWriter(pkl).objectWriter((writer, v) -> {
            if (!(v instanceof Tensor t)) return false;
            writeTensorReduce(writer, t.dtype(), t.shape(), String.valueOf(storages.size()));
            storages.add(t);
            return true;
        });
        w.proto();
        w.write(value);
        w.stop();
        byte[] data = pkl.toByteArray();

        TorchZipWriter zip = new TorchZipWriter(ch, offset, prefix);
        List<String> names = new ArrayList<>(List.of("data.pkl"));
        List<Long> crcs = new ArrayList<>(List.of(crc(data)));
        zip.addSmall("data.pkl", data);
        header(zip, names, crcs);
        for (int i = 0; i < storages.size(); i++) {
            zip.addSmall("data/" + i, storages.get(i).data());
            names.add("data/" + i);
            crcs.add(crc(storages.get(i).data()));
        }
        trailer(zip, names, crcs);
        return zip.finish();
    }

    /** The {@code data.pkl} of {@code torch.save(t)} for a contiguous tensor stored as storage {@code "0"}. */
    public static byte[] tensorPickle(DType dtype, long[] shape) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(192);
        PickleWriter w = new PickleWriter(out);
        w.proto();
        writeTensorReduce(w, dtype, shape, "0");
        w.stop();
        return out.toByteArray();
    }

    /**
     * {@code _rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())} (or {@code _rebuild_tensor_v3}
     * with an {@code UntypedStorage} and the dtype, for dtypes without a typed storage class), as torch lays it out.
     */
    private static void writeTensorReduce(PickleWriter w, DType dtype, long[] shape, String key) {
        long numel = numel(shape);
        boolean typed = dtype.storageClass().isPresent();
        w.global_("torch._utils", typed ? "_rebuild_tensor_v2" : "_rebuild_tensor_v3");
        w.mark();
        w.write(PyTuple.of("storage", typed ? new PyGlobal("torch", dtype.storageClass().get())
                : new PyGlobal("torch.storage", "UntypedStorage"), key, "cpu",
                typed ? numel : Math.multiplyExact(numel, dtype.byteSize())));
        w.binPersId();
        w.write(0L);
        w.write(longs(shape));
        w.write(longs(contiguousStrides(shape)));
        w.write(false);
        w.write(new PyDict(new PyGlobal("collections", "OrderedDict")));
        if (!typed) w.write(dtype);
        w.tuple();
        w.put();
        w.reduce();
        w.put();
    }

    private static void header(TorchZipWriter zip, List<String> names, List<Long> crcs) throws IOException {
        small(zip, ".format_version", "1", names, crcs);
        small(zip, ".storage_alignment", Integer.toString(TorchZipWriter.ALIGNMENT), names, crcs);
        small(zip, "byteorder", "little", names, crcs);
    }

    private static void trailer(TorchZipWriter zip, List<String> names, List<Long> crcs) throws IOException {
        small(zip, "version", "3\n", names, crcs);
        zip.addSmall(".data/serialization_id", serializationId(names, crcs));
    }

    private static void small(TorchZipWriter zip, String record, String text, List<String> names, List<Long> crcs) throws IOException {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        zip.addSmall(record, b);
        names.add(record);
        crcs.add(crc(b));
    }

    /**
     * 40 decimal digits like torch's: a 20-digit hash of the record names, then a 20-digit combination of their
     * CRCs. torch only uses it as an identifier, so any stable value is valid; ours is deterministic.
     */
    static byte[] serializationId(List<String> names, List<Long> crcs) {
        long nameHash = 0xcbf29ce484222325L;
        for (String n : names) for (byte b : n.getBytes(StandardCharsets.UTF_8)) nameHash = (nameHash ^ (b & 0xFF)) * 0x100000001b3L;
        long crcHash = 0;
        for (long c : crcs) crcHash = crcHash * 31 + c;
        return (pad20(nameHash) + pad20(crcHash)).getBytes(StandardCharsets.US_ASCII);
    }

    private static String pad20(long v) {
        String s = Long.toUnsignedString(v);
        return "0".repeat(20 - s.length()) + s;
    }

    /** Maps the record, lets the caller fill it, and returns its CRC-32 (read back from the mapping). */
    private static long fillMapped(FileChannel ch, long at, long nbytes, Consumer<MemorySegment> fill) throws IOException {
        if (nbytes == 0) {
            fill.accept(MemorySegment.ofArray(new byte[0]));
            return new CRC32().getValue();
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_WRITE, at, nbytes, arena);
            fill.accept(seg);
            return crc(seg);
        }
    }

    static long crc(MemorySegment seg) {
        CRC32 crc = new CRC32();
        long step = 1L << 30;
        for (long off = 0; off < seg.byteSize(); off += step) {
            ByteBuffer bb = seg.asSlice(off, Math.min(step, seg.byteSize() - off)).asByteBuffer();
            crc.update(bb);
        }
        return crc.getValue();
    }

    private static long crc(byte[] b) {
        CRC32 c = new CRC32();
        c.update(b);
        return c.getValue();
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    static long[] contiguousStrides(long[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc = Math.multiplyExact(acc, Math.max(1, shape[i]));
        }
        return s;
    }

    private static PyTuple longs(long[] v) {
        List<Object> l = new ArrayList<>(v.length);
        for (long x : v) l.add(x);
        return new PyTuple(l);
    }
}
