package ckpt.format.dcp;

import ckpt.format.pickle.PickleWriter;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;

import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Streams a DCP {@code .metadata} pickle (FORMATS.md §3.2, §3.9): a {@code Metadata} with
 * {@code state_dict_metadata}, {@code planner_data = None} (flat keys, as Megatron), {@code storage_data},
 * {@code storage_meta} and {@code version}. Protocol 4 laid out as CPython pickles torch's dataclasses, so the
 * file looks like one torch (≥ 2.3 class paths) wrote; plain {@code pickle.load} reads it.
 *
 * <p>Entries are collected first ({@link #addChunk}, {@link #addBytes}, {@link #addStorage}) and checked as they come:
 * one dtype and shape per key, chunks inside the global shape, no chunk twice; {@link #write} checks that every
 * tensor's chunks tile it (volumes add up, no overlap along the axes it can check cheaply) and that every chunk and
 * bytes item has a storage record. Objects are emitted straight to the stream, never built as a pickle tree, so
 * millions of chunks cost only their entries.
 */
public final class DcpMetadataWriter {
    static final String METADATA_MODULE = "torch.distributed.checkpoint.metadata";
    static final String FILESYSTEM_MODULE = "torch.distributed.checkpoint.filesystem";
    /** What torch ≥ 2.9's {@code FileSystemWriter.finish} stamps ({@code CURRENT_DCP_VERSION}). */
    public static final String DCP_VERSION = "1.0.0";
    private static final int BATCH = 1000;

    private sealed interface Entry permits TensorEntry, BytesEntry {
        String fqn();
    }

    private record TensorEntry(String fqn, DType dtype, long[] size, List<Box> chunks, Set<List<Long>> offsets)
            implements Entry {
    }

    private record BytesEntry(String fqn) implements Entry {
    }

    private record StorageRecord(String fqn, long[] offsets, StorageInfo info) {
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final List<StorageRecord> storage = new ArrayList<>();
    private final Set<MetadataIndex> stored = new HashSet<>();
    private String checkpointId;
    private String saveId;
    private String version = DCP_VERSION;

    /** {@code StorageMeta(checkpoint_id, save_id)}; both null → {@code storage_meta = None}. */
    public DcpMetadataWriter storageMeta(String checkpointId, String saveId) {
        this.checkpointId = checkpointId;
        this.saveId = saveId;
        return this;
    }

    /** {@code Metadata.version}; null for files as torch < 2.9 wrote them. */
    public DcpMetadataWriter version(String version) {
        this.version = version;
        return this;
    }

    /** One chunk of tensor {@code fqn}; the first chunk of a key fixes its dtype and global shape. */
    public void addChunk(String fqn, DType dtype, long[] globalShape, Box chunk) {
        Entry e = entries.get(fqn);
        TensorEntry t;
        if (e == null) {
            for (long d : globalShape) if (d < 0) throw new IllegalArgumentException(fqn + ": negative dimension " + Arrays.toString(globalShape));
            t = new TensorEntry(fqn, dtype, globalShape.clone(), new ArrayList<>(), new HashSet<>());
            entries.put(fqn, t);
        } else if (e instanceof TensorEntry te) {
            t = te;
            if (t.dtype != dtype || !Arrays.equals(t.size, globalShape))
                throw new IllegalArgumentException(fqn + ": chunk says " + dtype + Arrays.toString(globalShape)
                        + ", earlier chunks " + t.dtype + Arrays.toString(t.size));
        } else {
            throw new IllegalArgumentException(fqn + " is already a bytes item");
        }
        if (chunk.rank() != globalShape.length || !chunk.fitsIn(globalShape))
            throw new IllegalArgumentException(fqn + ": chunk " + chunk + " is not inside " + Arrays.toString(globalShape));
        if (!t.offsets.add(boxed(chunk.offsets())))
            throw new IllegalArgumentException(fqn + ": two chunks at offsets " + Arrays.toString(chunk.offsets()));
        t.chunks.add(chunk);
    }

    public void addBytes(String fqn) {
        if (entries.putIfAbsent(fqn, new BytesEntry(fqn)) != null)
            throw new IllegalArgumentException(fqn + " added twice");
    }

    /** Where a chunk ({@code chunkOffsets} non-null) or a bytes item ({@code null}) is stored. */
    public void addStorage(String fqn, long[] chunkOffsets, StorageInfo info) {
        if (!stored.add(new MetadataIndex(fqn, chunkOffsets == null ? null : chunkOffsets.clone())))
            throw new IllegalArgumentException("storage of " + fqn + (chunkOffsets == null ? "" : Arrays.toString(chunkOffsets)) + " given twice");
        storage.add(new StorageRecord(fqn, chunkOffsets == null ? null : chunkOffsets.clone(), info));
    }

    public int chunkCount() {
        int n = 0;
        for (Entry e : entries.values()) if (e instanceof TensorEntry t) n += t.chunks.size();
        return n;
    }

    /**
     * Writes {@code dir/.metadata} through {@code .metadata.tmp}, forced, and an atomic rename: a directory without
     * it is an incomplete save, so this goes last, after the data files are forced.
     */
    public void writeFile(java.nio.file.Path dir) throws java.io.IOException {
        writeFile(dir, ckpt.format.Writeback.none());
    }

    /**
     * {@link #writeFile(java.nio.file.Path)} with the force made by {@code writeback}, which decides it for the whole
     * output: none when it is not {@link ckpt.format.Writeback#durable() durable} ({@code --no-fsync}).
     */
    public void writeFile(java.nio.file.Path dir, ckpt.format.Writeback writeback) throws java.io.IOException {
        java.nio.file.Path tmp = dir.resolve(DcpMetadataReader.METADATA_FILE + ".tmp");
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.TRUNCATE_EXISTING, java.nio.file.StandardOpenOption.WRITE);
             OutputStream out = new java.io.BufferedOutputStream(java.nio.channels.Channels.newOutputStream(ch), 1 << 20)) {
            write(out);
            out.flush();
            writeback.track(tmp, ch).force();
        }
        java.nio.file.Files.move(tmp, dir.resolve(DcpMetadataReader.METADATA_FILE), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /** Checks completeness and streams the pickle to {@code out} (not closed; flushed). */
    public void write(OutputStream out) {
        write(out, 4);
    }

    /** @param protocol 4 as torch writes it, or 2 (BINPUT memo indices: how a reader copes with an older stream) */
    void write(OutputStream out, int protocol) {
        validate();
        PickleWriter w = new PickleWriter(out, protocol);
        Emitter em = new Emitter(w);
        w.proto();
        em.newObject(METADATA_MODULE, "Metadata");
        w.emptyDict();
        w.put();
        w.mark();
        w.write("state_dict_metadata");
        w.emptyDict();
        w.put();
        batchedItems(w, new ArrayList<>(entries.values()), e -> {
            w.write(e.fqn());
            if (e instanceof TensorEntry t) em.tensor(t);
            else em.newObject(METADATA_MODULE, "BytesStorageMetadata"); // empty __dict__: no BUILD
        });
        w.write("planner_data");
        w.none();
        w.write("storage_data");
        w.emptyDict();
        w.put();
        batchedItems(w, storage, s -> {
            em.index(s.fqn, s.offsets);
            em.storageInfo(s.info);
        });
        w.write("storage_meta");
        if (checkpointId == null && saveId == null) {
            w.none();
        } else {
            em.newObject(METADATA_MODULE, "StorageMeta");
            w.emptyDict();
            w.put();
            w.mark();
            w.write("checkpoint_id");
            w.write(checkpointId);
            w.write("save_id");
            w.write(saveId);
            w.write("load_id");
            w.none();
            w.write("modules");
            w.emptyList();
            w.put();
            w.setItems();
            w.build();
        }
        w.write("version");
        w.write(version);
        w.setItems();
        w.build();
        w.stop();
    }

    private void validate() {
        for (Entry e : entries.values()) {
            if (e instanceof TensorEntry t) {
                long vol = 0;
                for (Box b : t.chunks) {
                    vol = Math.addExact(vol, b.numel());
                    if (!stored.contains(new MetadataIndex(t.fqn, b.offsets())))
                        throw new IllegalStateException(t.fqn + ": no storage record for chunk " + b);
                }
                long numel = 1;
                for (long d : t.size) numel = Math.multiplyExact(numel, d);
                if (vol != numel)
                    throw new IllegalStateException(t.fqn + ": chunks hold " + vol + " elements, the tensor has " + numel);
                if (t.size.length == 1) checkNoOverlap1d(t);
            } else if (!stored.contains(new MetadataIndex(e.fqn(), null))) {
                throw new IllegalStateException(e.fqn() + ": no storage record for bytes item");
            }
        }
    }

    /** For 1-D tensors (optimizer buckets, thousands of chunks) sorting proves the tiling; N-D chunk sets are small. */
    private static void checkNoOverlap1d(TensorEntry t) {
        List<Box> sorted = new ArrayList<>(t.chunks);
        sorted.sort(Comparator.comparingLong(b -> b.offset(0)));
        long next = 0;
        for (Box b : sorted) {
            if (b.numel() == 0) continue;
            if (b.offset(0) != next) throw new IllegalStateException(t.fqn + ": chunks leave a gap or overlap at " + next);
            next = b.end(0);
        }
    }

    private static <T> void batchedItems(PickleWriter w, List<T> items, Consumer<T> pair) {
        // CPython's _batch_setitems: batches of 1000; a batch of one is SETITEM without MARK.
        for (int start = 0; start < items.size(); start += BATCH) {
            int end = Math.min(items.size(), start + BATCH);
            if (end - start == 1) {
                pair.accept(items.get(start));
                w.setItem();
            } else {
                w.mark();
                for (int i = start; i < end; i++) pair.accept(items.get(i));
                w.setItems();
            }
        }
    }

    private static List<Long> boxed(long[] v) {
        List<Long> l = new ArrayList<>(v.length);
        for (long x : v) l.add(x);
        return l;
    }

    /** The per-class emission, with the memo slots of torch's singletons (layout, memory-format enum). */
    private static final class Emitter {
        private final PickleWriter w;
        private int layoutMemo = -1;
        private int encodingMemo = -1;
        /** torch's planner holds one fqn string per key, distinct from the state_dict_metadata key string. */
        private final Map<String, Integer> indexFqnMemo = new java.util.HashMap<>();

        Emitter(PickleWriter w) {
            this.w = w;
        }

        /** {@code cls.__new__(cls)} as CPython pickles a dataclass: class, (), NEWOBJ, memo. */
        void newObject(String module, String name) {
            w.global_(module, name);
            w.emptyTuple();
            w.newObj();
            w.put();
        }

        void tensor(TensorEntry t) {
            newObject(METADATA_MODULE, "TensorStorageMetadata");
            w.emptyDict();
            w.put();
            w.mark();
            w.write("properties");
            properties(t.dtype);
            w.write("size");
            size(t.size);
            w.write("chunks");
            w.emptyList();
            w.put();
            List<Box> chunks = t.chunks;
            for (int start = 0; start < chunks.size(); start += BATCH) {
                int end = Math.min(chunks.size(), start + BATCH);
                if (end - start > 1) w.mark();
                for (int i = start; i < end; i++) chunk(chunks.get(i));
                if (end - start > 1) w.appends();
                else w.append();
            }
            w.setItems();
            w.build();
        }

        /** TensorProperties' {@code __getstate__} tuple: (dtype, layout, requires_grad, memory_format, pin_memory). */
        void properties(DType dtype) {
            newObject(METADATA_MODULE, "TensorProperties");
            w.mark();
            w.write(dtype);
            if (layoutMemo >= 0) {
                w.get(layoutMemo);
            } else {
                w.global_("torch.serialization", "_get_layout");
                w.write("torch.strided");
                w.tuple1();
                w.put();
                w.reduce();
                layoutMemo = w.put();
            }
            w.write(false);
            if (encodingMemo >= 0) {
                w.get(encodingMemo);
            } else {
                w.global_(METADATA_MODULE, "_MEM_FORMAT_ENCODING");
                w.write(0L); // TORCH_CONTIGUOUS_FORMAT
                w.tuple1();
                w.put();
                w.reduce();
                encodingMemo = w.put();
            }
            w.write(false);
            w.tuple();
            w.put();
            w.build();
        }

        void chunk(Box b) {
            newObject(METADATA_MODULE, "ChunkStorageMetadata");
            w.emptyDict();
            w.put();
            w.mark();
            w.write("offsets");
            size(b.offsets());
            w.write("sizes");
            size(b.sizes());
            w.setItems();
            w.build();
        }

        /** {@code torch.Size(dims)} = REDUCE(torch.Size, ((dims…),)), each tuple memoized. */
        void size(long[] dims) {
            w.global_("torch", "Size");
            switch (dims.length) {
                case 0 -> w.emptyTuple();
                case 1, 2, 3 -> {
                    for (long d : dims) w.int_(d);
                    if (dims.length == 1) w.tuple1();
                    else if (dims.length == 2) w.tuple2();
                    else w.tuple3();
                    w.put();
                }
                default -> {
                    w.mark();
                    for (long d : dims) w.int_(d);
                    w.tuple();
                    w.put();
                }
            }
            w.tuple1();
            w.put();
            w.reduce();
            w.put();
        }

        /**
         * MetadataIndex state {fqn, index: None[, offset]}. The fqn string is memoized apart from the equal
         * state_dict_metadata key (a different object in torch's planner, so written again once), as in torch's files.
         */
        void index(String fqn, long[] offsets) {
            newObject(METADATA_MODULE, "MetadataIndex");
            w.emptyDict();
            w.put();
            w.mark();
            w.write("fqn");
            Integer memo = indexFqnMemo.get(fqn);
            if (memo != null) {
                w.get(memo);
            } else {
                w.string(fqn);
                indexFqnMemo.put(fqn, w.put());
            }
            w.write("index");
            w.none();
            if (offsets != null) {
                w.write("offset");
                size(offsets);
            }
            w.setItems();
            w.build();
        }

        /** _StorageInfo's {@code __getstate__} drops None fields: no transform_descriptors key unless there are some. */
        void storageInfo(StorageInfo s) {
            newObject(FILESYSTEM_MODULE, "_StorageInfo");
            w.emptyDict();
            w.put();
            w.mark();
            w.write("relative_path");
            w.write(s.relativePath());
            w.write("offset");
            w.write(s.offset());
            w.write("length");
            w.write(s.length());
            if (!s.transforms().isEmpty()) {
                w.write("transform_descriptors");
                w.write(new ArrayList<Object>(s.transforms()));
            }
            w.setItems();
            w.build();
        }
    }
}
