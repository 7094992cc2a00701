package ckpt.format.dcp;

import ckpt.format.RegularFiles;
import ckpt.format.FormatException;
import ckpt.format.pickle.PickleException;
import ckpt.format.pickle.PickleReader;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyObject;
import ckpt.format.pickle.PyTuple;
import ckpt.format.pickle.TorchSize;
import ckpt.format.InputText;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;
import ckpt.format.torchsave.TorchGlobals;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Decodes a DCP {@code .metadata} pickle into {@link DcpMetadata}. Classes are matched by name and field set, not
 * by module path, because they moved between torch releases (FORMATS.md §3.3); every field added after torch 2.0
 * defaults when absent. Megatron's {@code MCoreMetadata} subclass is read the same way.
 */
public final class DcpMetadataReader {
    public static final String METADATA_FILE = ".metadata";

    private DcpMetadataReader() {
    }

    /** Reads {@code dir/.metadata}; a missing file means the save never finished. */
    public static DcpMetadata read(Path dir) {
        Path file = dir.resolve(METADATA_FILE);
        RegularFiles.require(file); // a FIFO or a link to a device is not an interrupted save
        if (!Files.isRegularFile(file)) {
            throw new FormatException(file, "incomplete save: .metadata missing — the job was probably interrupted while saving"
                    + (Files.exists(dir.resolve(".metadata.tmp")) ? " (a .metadata.tmp is present)" : ""));
        }
        try (Arena arena = Arena.ofConfined(); FileChannel ch = RegularFiles.openRead(file)) {
            long size = ch.size();
            if (size == 0) throw new FormatException(file, "incomplete save: .metadata is empty");
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            ParsePriming.before(size);
            return readMapped(file, seg);
        } catch (NoSuchFileException e) {
            throw new FormatException(file, "incomplete save: .metadata missing");
        } catch (IOException e) {
            throw new FormatException(file, "cannot read: " + e.getMessage(), e);
        }
    }


    /** The mapped bytes of {@code file} decoded. */
    static DcpMetadata readMapped(Path file, MemorySegment seg) {
        Parsed p = parse(file, seg, true);
        try {
            return decode(file, p.root(), p.columns());
        } catch (SinkMissed e) {
            // a record item outside storage_data and the chunk lists: read again, every container keeping its items
            p = parse(file, seg, false);
            return decode(file, p.root(), p.columns());
        }
    }

    private record Parsed(Object root, DcpColumns columns) {
    }

    /** The pickle with records built at BUILD, their rows in fresh columns; {@code sink}: items that are rows too. */
    private static Parsed parse(Path file, MemorySegment seg, boolean sink) {
        try {
            DcpColumns columns = new DcpColumns(seg.byteSize());
            try {
                return new Parsed(PickledRecords.register(TorchGlobals.reader(file), columns, sink).guessMemoReads(true).build().read(seg), columns);
            } catch (PickleReader.GuessMissed e) {
                // the pickle reads back a value inside a record: scan first which memo entries are read
                columns = new DcpColumns(seg.byteSize());
                return new Parsed(PickledRecords.register(TorchGlobals.reader(file), columns, sink).memoOnlyWhatIsRead(true).build().read(seg), columns);
            }
        } catch (PickleException e) {
            throw new FormatException(e, "unreadable .metadata (an incomplete save?): " + e.detail());
        }
    }

    /** The sink took items from a container {@link #decode} reads as pickled: the file is read again without it. */
    private static final class SinkMissed extends RuntimeException {
        SinkMissed() {
            super(null, null, false, false);
        }
    }

    /**
     * Whether every container the reader's sink took items from is one {@link #decode} reads them back from:
     * {@code storage_data} and the tensors' chunk lists. Anywhere else (a layout torch does not write) the items
     * would silently be missing.
     */
    private static boolean sunkOnlyWhereDecoded(PyObject md, DcpColumns columns) {
        int sunk = columns.sunkContainers();
        if (sunk == 0) return true;
        PyDict state = md.stateDict();
        if (state == null) return false;
        Set<Object> decoded = Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        if (state.get("storage_data") instanceof PyDict sd && columns.sunk(sd) != null) decoded.add(sd);
        if (state.get("state_dict_metadata") instanceof PyDict sdm) {
            for (Object v : sdm.items().values()) {
                if (v instanceof PyObject item && item.isNamed("TensorStorageMetadata") && item.attr("chunks") instanceof List<?> l
                        && columns.sunk(l) != null) decoded.add(l);
            }
        }
        return decoded.size() == sunk;
    }

    /** Decodes a generic value graph (no records built at BUILD). */
    static DcpMetadata decode(Path file, Object root) {
        return decode(file, root, new DcpColumns());
    }

    /** @param columns where the reader put the rows of records built at BUILD; rows of generic objects are added */
    static DcpMetadata decode(Path file, Object root, DcpColumns columns) {
        if (!(root instanceof PyObject md) || !(md.isNamed("Metadata") || md.isNamed("MCoreMetadata")))
            throw new FormatException(file, "not DCP metadata: top object is " + describe(root));
        if (!sunkOnlyWhereDecoded(md, columns)) throw new SinkMissed();
        PyDict state = md.stateDict();
        if (state == null) throw new FormatException(file, "not DCP metadata: its Metadata object holds no fields");
        if (!(state.get("state_dict_metadata") instanceof PyDict sdm))
            throw new FormatException(file, "not DCP metadata: no state_dict_metadata (the list of saved tensors)");

        StorageTable storage;
        if (state.get("storage_data") instanceof PyDict sd) {
            SunkItems taken = columns.sunk(sd);
            storage = new StorageTable(columns, sd.size() + (taken == null ? 0 : taken.size()));
            BitSet checkedPaths = new BitSet(); // path ids whose file name was checked
            for (Map.Entry<Object, Object> e : sd.items().entrySet()) {
                int key = index(file, e.getKey(), columns);
                storage.put(key, storageInfo(file, key, e.getValue(), columns, checkedPaths));
            }
            for (int i = 0, n = taken == null ? 0 : taken.size(); i < n; i++) {
                if (taken.isRows(i)) {
                    int key = taken.first(i);
                    storage.put(key, recordRow(file, key, taken.second(i), columns, checkedPaths));
                } else {
                    int key = index(file, taken.genericKey(i), columns);
                    storage.put(key, storageInfo(file, key, taken.genericValue(i), columns, checkedPaths));
                }
            }
        } else if (state.get("storage_data") != null) {
            throw new FormatException(file, "storage_data is " + describe(state.get("storage_data")) + ", not a dict");
        } else {
            storage = new StorageTable(columns);
        }

        Map<String, TensorStorageMetadata> tensors = new LinkedHashMap<>();
        List<String> bytes = new ArrayList<>();
        for (Map.Entry<Object, Object> e : sdm.items().entrySet()) {
            if (!(e.getKey() instanceof String fqn)) throw new FormatException(file, "a saved item's name is not text: " + InputText.excerpt(String.valueOf(e.getKey())));
            if (!(e.getValue() instanceof PyObject item))
                throw FormatException.atKey(file, fqn, "unexpected metadata entry " + describe(e.getValue()));
            if (item.isNamed("BytesStorageMetadata")) {
                bytes.add(fqn);
            } else if (item.isNamed("TensorStorageMetadata")) {
                tensors.put(fqn, tensor(file, columns.canonical(fqn), item, storage, columns));
            } else {
                throw FormatException.atKey(file, fqn, "unknown storage metadata class " + item.type());
            }
        }

        Map<String, List<Object>> planner = new LinkedHashMap<>();
        if (state.get("planner_data") instanceof PyDict pd) {
            for (Map.Entry<Object, Object> e : pd.items().entrySet())
                if (e.getKey() instanceof String k && e.getValue() instanceof PyTuple path) planner.put(k, path.items());
        }
        String version = state.get("version") instanceof String v ? v : null;
        String checkpointId = null;
        String saveId = null;
        if (state.get("storage_meta") instanceof PyObject sm) {
            Object id = sm.attr("checkpoint_id");
            checkpointId = id == null ? null : String.valueOf(id);
            saveId = sm.attr("save_id") instanceof String s ? s : null;
        }
        Map<String, Map<String, Object>> mcore = new LinkedHashMap<>();
        if (state.get("mcore_data") instanceof PyDict m) {
            for (Map.Entry<Object, Object> e : m.items().entrySet()) {
                if (e.getKey() instanceof String k && e.getValue() instanceof PyDict v) {
                    Map<String, Object> fields = new LinkedHashMap<>();
                    v.items().forEach((fk, fv) -> fields.put(String.valueOf(fk), fv));
                    mcore.put(k, fields);
                }
            }
        }
        boolean plans = state.get("all_local_plans") instanceof List<?> l && (!l.isEmpty() || columns.sunk(l) != null);
        validate(file, tensors, bytes, storage);
        return new DcpMetadata(file, md.type().toString(), Collections.unmodifiableMap(tensors), List.copyOf(bytes),
                storage.asMap(), planner, version, checkpointId, saveId, mcore, plans);
    }

    /** The tensor with each chunk's storage record attached; a chunk without one is an error, as in torch's load. */
    private static TensorStorageMetadata tensor(Path file, String fqn, PyObject item, StorageTable storage, DcpColumns columns) {
        Object props = item.attr("properties");
        DType dtype = dtypeOf(file, fqn, props);
        long[] size = dims(file, fqn, item.attr("size"), "size");
        if (!(item.attr("chunks") instanceof List<?> chunkList))
            throw FormatException.atKey(file, fqn, "tensor metadata without a chunk list");
        SunkItems taken = columns.sunk(chunkList);
        int kept = chunkList.size();
        int count = kept + (taken == null ? 0 : taken.size());
        int[] boxes = new int[count];
        int[] records = new int[count];
        for (int n = 0; n < count; n++) {
            int box;
            if (n >= kept && taken.isRows(n - kept)) {
                box = checkedBox(file, fqn, size, taken.first(n - kept), columns);
            } else {
                Object c = n < kept ? chunkList.get(n) : taken.genericKey(n - kept);
                box = c instanceof PickledRecords.Chunk pc && pc.row >= 0 ? checkedBox(file, fqn, size, pc.row, columns)
                        : pickledBox(file, fqn, size, c, columns);
            }
            int record = storage.findChunk(fqn, box);
            if (record < 0)
                throw new FormatException(file, "key " + fqn, "no storage record for chunk at " + java.util.Arrays.toString(columns.boxOffsets(box)));
            boxes[n] = box;
            records[n] = record;
        }
        return new TensorStorageMetadata(fqn, dtype, size, new ChunkList(columns, boxes, records));
    }

    /** A chunk box row made at BUILD, checked against the tensor's shape. */
    private static int checkedBox(Path file, String fqn, long[] size, int box, DcpColumns columns) {
        if (columns.boxRank(box) != size.length)
            throw new FormatException(file, "key " + fqn, "chunk rank differs from the tensor's rank " + size.length);
        if (!fitsIn(columns, box, size))
            throw new FormatException(file, "key " + fqn, "chunk " + new Box(columns.boxOffsets(box), columns.boxSizes(box))
                    + " lies outside the global shape " + java.util.Arrays.toString(size));
        return box;
    }

    /** A chunk kept as pickled (not a row at BUILD): validated, then made a box row. */
    private static int pickledBox(Path file, String fqn, long[] size, Object c, DcpColumns columns) {
        Object rawOffsets, rawSizes;
        if (c instanceof PickledRecords.Chunk pc) {
            rawOffsets = pc.offsets;
            rawSizes = pc.sizes;
        } else if (c instanceof PyObject chunk && chunk.isNamed("ChunkStorageMetadata")) {
            rawOffsets = chunk.attr("offsets");
            rawSizes = chunk.attr("sizes");
        } else {
            throw FormatException.atKey(file, fqn, "chunk is " + describe(c));
        }
        long[] offsets = dims(file, fqn, rawOffsets, "chunk offsets");
        long[] sizes = dims(file, fqn, rawSizes, "chunk sizes");
        if (offsets.length != size.length || sizes.length != size.length)
            throw FormatException.atKey(file, fqn, "chunk rank differs from the tensor's rank " + size.length);
        Box b = new Box(offsets, sizes);
        if (!b.fitsIn(size))
            throw FormatException.atKey(file, fqn, "chunk " + b + " lies outside the global shape "
                    + java.util.Arrays.toString(size));
        return columns.addBox(offsets, sizes);
    }

    /** {@link Box#fitsIn} on a box row, without making the box. */
    private static boolean fitsIn(DcpColumns columns, int box, long[] shape) {
        for (int i = 0; i < shape.length; i++) {
            long o = columns.boxOffset(box, i), z = columns.boxSize(box, i);
            if (o < 0 || z < 0 || o + z > shape[i]) return false;
        }
        return true;
    }

    private static DType dtypeOf(Path file, String fqn, Object props) {
        Object dt = null;
        if (props instanceof PyObject p) {
            Object st = p.state();
            if (st instanceof PyTuple t && t.size() > 0) dt = t.get(0);          // __getstate__ tuple (torch ≥ 2.0)
            else if (p.stateDict() != null) dt = p.attr("dtype");              // plain dataclass state
        }
        if (dt instanceof DType d) return d;
        throw FormatException.atKey(file, fqn, "unknown dtype " + describe(dt));
    }

    /** The key row of a storage_data key. */
    private static int index(Path file, Object key, DcpColumns columns) {
        Object rawFqn, off;
        if (key instanceof PickledRecords.Index pi && pi.row >= 0) return pi.row;
        if (key instanceof PickledRecords.Index pi) {
            rawFqn = pi.fqn;
            off = pi.offset;
        } else if (key instanceof PyObject mi && mi.isNamed("MetadataIndex")) {
            rawFqn = mi.attr("fqn");
            off = mi.attr("offset");
        } else {
            throw new FormatException(file, "storage_data key is " + describe(key) + ", not a MetadataIndex");
        }
        if (!(rawFqn instanceof String fqn)) throw new FormatException(file, "MetadataIndex without fqn");
        return columns.addKey(fqn, off == null ? null : dims(file, fqn, off, "index offset"));
    }

    /** The record row of a storage_data value, validated; each distinct file name is checked once. */
    private static int storageInfo(Path file, int key, Object v, DcpColumns columns, BitSet checkedPaths) {
        Object path, offset, length;
        List<String> transforms = new ArrayList<>();
        if (v instanceof PickledRecords.Storage ps && ps.row >= 0) return recordRow(file, key, ps.row, columns, checkedPaths);
        MetadataIndex idx = columns.key(key);
        if (v instanceof PickledRecords.Storage ps) {
            path = ps.relativePath;
            offset = ps.offset;
            length = ps.length;
            transforms.addAll(ps.transforms);
        } else if (v instanceof PyObject si && si.isNamed("_StorageInfo")) {
            path = si.attr("relative_path");
            offset = si.attr("offset");
            length = si.attr("length");
            if (si.attr("transform_descriptors") instanceof List<?> td)
                for (Object t : td) transforms.add(String.valueOf(t));
        } else {
            throw FormatException.atKey(file, String.valueOf(idx), "storage record is " + describe(v));
        }
        if (!(path instanceof String rel) || !(offset instanceof Long o) || !(length instanceof Long l))
            throw FormatException.atKey(file, String.valueOf(idx), "storage record lacks relative_path/offset/length");
        if (o < 0 || l < 0) throw FormatException.atKey(file, String.valueOf(idx), "negative storage offset or length");
        if (l > Long.MAX_VALUE - o)
            throw FormatException.atKey(file, String.valueOf(idx), "storage record of " + l + " bytes at byte " + o + " ends past 2^63");
        checkFileName(file, idx, rel);
        return columns.addRecord(rel, o, l, transforms);
    }

    /** A storage record row made at BUILD, validated. */
    private static int recordRow(Path file, int key, int r, DcpColumns columns, BitSet checkedPaths) {
        long o = columns.recordOffset(r), l = columns.recordLength(r);
        if (o < 0 || l < 0) throw new FormatException(file, "key " + columns.key(key), "negative storage offset or length");
        if (l > Long.MAX_VALUE - o)
            throw new FormatException(file, "key " + columns.key(key), "storage record of " + l + " bytes at byte " + o + " ends past 2^63");
        int path = columns.recordPathId(r);
        if (!checkedPaths.get(path)) {
            checkFileName(file, columns.key(key), columns.recordPath(r));
            checkedPaths.set(path);
        }
        return r;
    }

    private static void checkFileName(Path file, MetadataIndex idx, String rel) {
        if (rel.contains("/") || rel.contains("\\") || rel.equals("..") || rel.isEmpty())
            throw FormatException.atKey(file, String.valueOf(idx), "storage file name '" + InputText.excerpt(String.valueOf(rel)) + "' leaves the checkpoint directory");
        if (rel.chars().anyMatch(c -> c < 0x20 || c == 0x7F))
            throw FormatException.atKey(file, String.valueOf(idx), "storage file name holds a NUL or control character: no file can have this name");
    }

    private static void validate(Path file, Map<String, TensorStorageMetadata> tensors, List<String> bytes,
                                 StorageTable storage) {
        // every chunk's record was found when it was decoded (tensor)
        for (String b : bytes)
            if (storage.find(b, null) < 0)
                throw FormatException.atKey(file, b, "no storage record for bytes item");
    }

    static long[] dims(Path file, String fqn, Object o, String what) {
        if (o instanceof TorchSize s) {
            long[] d = s.dims();
            for (long v : d)
                if (v < 0) throw FormatException.atKey(file, fqn, what + " " + InputText.excerpt(s.toString()) + " has a negative entry");
            return d;
        }
        List<?> items;
        if (o instanceof PyTuple t) items = t.items();
        else if (o instanceof List<?> l) items = l;
        else throw FormatException.atKey(file, fqn, what + " is " + describe(o));
        long[] d = new long[items.size()];
        for (int i = 0; i < d.length; i++) {
            if (!(items.get(i) instanceof Long v) || v < 0)
                throw FormatException.atKey(file, fqn, what + " has a non-integer or negative entry");
            d[i] = v;
        }
        return d;
    }

    static String describe(Object o) {
        if (o == null) return "None";
        if (o instanceof PickledRecords.Chunk) return "torch.distributed.checkpoint.metadata.ChunkStorageMetadata";
        if (o instanceof PickledRecords.Index) return "torch.distributed.checkpoint.metadata.MetadataIndex";
        if (o instanceof PickledRecords.Storage) return "torch.distributed.checkpoint.filesystem._StorageInfo";
        if (o instanceof PyObject p) return p.type().toString();
        return ckpt.format.pickle.PyRepr.typeName(o);
    }
}
