package ckpt.format.dcp;

import ckpt.format.pickle.Buildable;
import ckpt.format.pickle.FieldBuildable;
import ckpt.format.pickle.FieldState;
import ckpt.format.pickle.ItemSink;
import ckpt.format.pickle.PickleReader;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyGlobal;
import ckpt.format.pickle.PyObject;
import ckpt.format.pickle.PyTuple;
import ckpt.format.pickle.TorchSize;

import java.util.ArrayList;
import java.util.List;

/**
 * Compact stand-ins for the three DCP classes a {@code .metadata} holds once per chunk — {@code ChunkStorageMetadata},
 * {@code MetadataIndex}, {@code _StorageInfo} — built in place by BUILD instead of generic {@link PyObject}s with a
 * field dict each. A 405B-scale file has millions of them; keeping their fields as plain Java fields (and letting
 * the reader drop the consumed state dicts from the memo) is what keeps the parse from holding gigabytes.
 * Validation of the values stays in {@link DcpMetadataReader}.
 */
final class PickledRecords {
    private PickledRecords() {
    }

    /**
     * Teaches a reader the three classes under every module path torch has used for them; rows go to {@code columns},
     * and so do the containers' items that are rows ({@link Sink}) when {@code sink} is set.
     */
    static PickleReader.Builder register(PickleReader.Builder b, DcpColumns columns) {
        return register(b, columns, true);
    }

    static PickleReader.Builder register(PickleReader.Builder b, DcpColumns columns, boolean sink) {
        if (sink) b.itemSink(new Sink(columns));
        for (String module : List.of("torch.distributed.checkpoint.metadata")) {
            b.reducer(module, "ChunkStorageMetadata", args -> args.size() == 0 ? new Chunk(columns) : inert(module, "ChunkStorageMetadata", args));
            b.reducer(module, "MetadataIndex", args -> args.size() == 0 ? new Index(columns) : inert(module, "MetadataIndex", args));
        }
        String fs = "torch.distributed.checkpoint.filesystem";
        b.reducer(fs, "_StorageInfo", args -> args.size() == 0 ? new Storage(columns) : inert(fs, "_StorageInfo", args));
        return b;
    }

    /** Any other construction (positional args) stays the generic inert object the decoder also understands. */
    private static Object inert(String module, String name, PyTuple args) {
        return new PyObject(new PyGlobal(module, name), args, null, PyObject.Origin.NEWOBJ);
    }

    private static PyDict dict(Object state) {
        if (state instanceof PyDict d) return d;
        if (state instanceof PyTuple t && t.size() == 2 && t.get(1) instanceof PyDict slots) return slots;
        throw new IllegalArgumentException("state is not a dict");
    }

    /**
     * {@code ChunkStorageMetadata(offsets, sizes)}. When both are well-formed {@code torch.Size}s of one rank the
     * box becomes a row of the columns here, at BUILD, and the pickled values are not kept; otherwise they are kept
     * as pickled for the decoder to report.
     */
    static final class Chunk implements FieldBuildable {
        private final DcpColumns columns;
        Object offsets;
        Object sizes;
        int row = -1;

        /** As the generic {@link PyObject} of the same construction prints: the class and its empty arguments. */
        @Override
        public String toString() {
            return "torch.distributed.checkpoint.metadata.ChunkStorageMetadata[]";
        }

        Chunk(DcpColumns columns) {
            this.columns = columns;
        }

        @Override
        public void build(Object state) {
            PyDict d = dict(state);
            Object o = d.get("offsets");
            Object s = d.get("sizes");
            if (o instanceof TorchSize os && s instanceof TorchSize ss && os.rank() == ss.rank() && nonNegative(os) && nonNegative(ss)) {
                row = columns.addBox(os, ss);
            } else {
                offsets = o;
                sizes = s;
            }
        }

        /** Both fields {@code torch.Size} literals of one rank, non-negative: the row; anything else the generic way. */
        @Override
        public boolean build(FieldState f) {
            int o = f.find("offsets"), s = f.find("sizes");
            if (o < 0 || s < 0 || f.kind(o) != FieldState.Kind.SIZE || f.kind(s) != FieldState.Kind.SIZE
                    || f.rank(o) != f.rank(s) || !nonNegative(f, o) || !nonNegative(f, s)) return false;
            row = columns.addBox(f, o, s);
            return true;
        }

        @Override
        public boolean consumesState() {
            return true;
        }
    }

    /**
     * {@code MetadataIndex(fqn, offset, index)}; the index hint is dropped (torch ignores it for equality). The key
     * becomes a row of the columns here when the fields are well-formed.
     */
    static final class Index implements FieldBuildable {
        private final DcpColumns columns;
        Object fqn;
        Object offset;
        int row = -1;

        /** As the generic {@link PyObject} of the same construction prints: the class and its empty arguments. */
        @Override
        public String toString() {
            return "torch.distributed.checkpoint.metadata.MetadataIndex[]";
        }

        Index(DcpColumns columns) {
            this.columns = columns;
            this.hash = columns.nextObjectHash(); // distinct per object, as identity: no identity-hash inflation of 1.4 M keys
        }

        private final int hash;

        /** Keys stay distinct objects in the pickled dict (the decoder merges equal ones); only the hash is cheaper. */
        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public boolean equals(Object o) {
            return this == o;
        }

        @Override
        public void build(Object state) {
            PyDict d = dict(state);
            Object f = d.get("fqn");
            Object o = d.get("offset");
            if (f instanceof String s && (o == null || o instanceof TorchSize ts && nonNegative(ts))) {
                row = columns.addKey(s, (TorchSize) o);
            } else {
                fqn = f;
                offset = o;
            }
        }

        @Override
        public boolean build(FieldState f) {
            int n = f.find("fqn"), o = f.find("offset");
            if (n < 0 || f.kind(n) != FieldState.Kind.OBJECT || !(f.object(n) instanceof String fqn)) return false;
            if (o < 0 || f.kind(o) == FieldState.Kind.NONE) {
                row = columns.addKey(fqn, (long[]) null);
            } else if (f.kind(o) == FieldState.Kind.SIZE && nonNegative(f, o)) {
                row = columns.addKey(fqn, f, o);
            } else {
                return false;
            }
            return true;
        }

        @Override
        public boolean consumesState() {
            return true;
        }
    }

    /**
     * {@code _StorageInfo(relative_path, offset, length[, transform_descriptors])}; the decoder validates the
     * values (file name, signs) of the row made here.
     */
    static final class Storage implements FieldBuildable {
        private final DcpColumns columns;
        Object relativePath;
        Object offset;
        Object length;
        List<String> transforms = List.of();
        int row = -1;

        /** As the generic {@link PyObject} of the same construction prints: the class and its empty arguments. */
        @Override
        public String toString() {
            return "torch.distributed.checkpoint.filesystem._StorageInfo[]";
        }

        Storage(DcpColumns columns) {
            this.columns = columns;
        }

        @Override
        public void build(Object state) {
            PyDict d = dict(state);
            if (d.get("transform_descriptors") instanceof List<?> td && columns.sunk(td) != null)
                throw new IllegalArgumentException("transform_descriptors holds DCP records, not names");
            if (d.get("transform_descriptors") instanceof List<?> td && !td.isEmpty()) {
                List<String> t = new ArrayList<>(td.size());
                for (Object o : td) t.add(String.valueOf(o));
                transforms = List.copyOf(t);
            }
            Object p = d.get("relative_path");
            Object o = d.get("offset");
            Object l = d.get("length");
            if (p instanceof String ps && o instanceof Long ol && l instanceof Long ll) {
                row = columns.addRecord(ps, ol, ll, transforms);
                transforms = List.of();
            } else {
                relativePath = p;
                offset = o;
                length = l;
            }
        }

        /** Path, offset and length plain, and no transforms (absent or None): the row; else the generic way. */
        @Override
        public boolean build(FieldState f) {
            int p = f.find("relative_path"), o = f.find("offset"), l = f.find("length"), t = f.find("transform_descriptors");
            if (p < 0 || o < 0 || l < 0 || f.kind(p) != FieldState.Kind.OBJECT || !(f.object(p) instanceof String path)
                    || f.kind(o) != FieldState.Kind.INT || f.kind(l) != FieldState.Kind.INT
                    || (t >= 0 && f.kind(t) != FieldState.Kind.NONE)) return false;
            row = columns.addRecord(path, f.intValue(o), f.intValue(l), List.of());
            return true;
        }

        @Override
        public boolean consumesState() {
            return true;
        }
    }

    /**
     * Takes {@code storage_data}'s key → record items and the tensors' chunk-list items once they are rows, so
     * the 1.4 M {@link Index}, {@link Storage} and {@link Chunk} objects of a 405B-scale file die young instead of
     * living in a dict and lists to the end of the parse. The decoder reads a container's items with
     * {@link DcpColumns#sunk}.
     */
    static final class Sink implements ItemSink {
        private final DcpColumns columns;
        private Object lastList;
        private SunkItems lastListItems;
        private Object lastDict;
        private SunkItems lastDictItems;

        Sink(DcpColumns columns) {
            this.columns = columns;
        }

        @Override
        public boolean setItem(PyDict target, boolean targetSunk, Object key, Object value) {
            boolean rows = key instanceof Index k && k.row >= 0 && value instanceof Storage v && v.row >= 0;
            if (!rows && !targetSunk) return false;
            if (target != lastDict) {
                lastDict = target;
                lastDictItems = columns.sinkFor(target, true);
            }
            if (rows) lastDictItems.addRows(((Index) key).row, ((Storage) value).row);
            else lastDictItems.addGeneric(key, value);
            return true;
        }

        @Override
        public boolean append(List<?> target, Object value) {
            boolean row = value instanceof Chunk c && c.row >= 0;
            if (target != lastList) {
                SunkItems known = columns.sunk(target);
                if (!row && known == null) return false;
                lastList = target;
                lastListItems = known != null ? known : columns.sinkFor(target, false);
            }
            if (row) lastListItems.addRows(((Chunk) value).row, 0);
            else lastListItems.addGeneric(value, null);
            return true;
        }
    }

    private static boolean nonNegative(FieldState f, int field) {
        for (int i = 0; i < f.rank(field); i++) if (f.dim(field, i) < 0) return false;
        return true;
    }

    private static boolean nonNegative(TorchSize s) {
        for (int i = 0; i < s.rank(); i++) if (s.dim(i) < 0) return false;
        return true;
    }

    static boolean isSize(Object o) {
        return o instanceof TorchSize || o instanceof PyTuple || o instanceof List<?>;
    }
}
