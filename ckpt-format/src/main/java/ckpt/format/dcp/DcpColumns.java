package ckpt.format.dcp;

import ckpt.format.pickle.TorchSize;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The per-chunk records of one {@code .metadata} in columns: chunk boxes, storage keys ({@code MetadataIndex}) and
 * storage records ({@code _StorageInfo}), one row each, written as the pickle's BUILD opcodes apply them
 * ({@link PickledRecords}) or as the decoder meets generic objects. A 405B-scale file has 1.4 M of each; as objects
 * they were most of a gigabyte of heap, as columns they are ~70 bytes a chunk. Relative paths are interned (16 k
 * distinct among 1.4 M records) and checked once each. Rows are never removed; values are validated by the decoder.
 */
final class DcpColumns {
    // chunk boxes: row r holds offsets then sizes in boxDims[boxStart[r] .. boxStart[r + 1])
    private long[] boxDims = new long[1024];
    private int[] boxStart = new int[257];
    private int boxes;

    // storage keys: fqn, offsets in keyDims[keyStart[r] .. keyStart[r + 1]), or none (a bytes item)
    private String[] keyFqn = new String[256];
    private boolean[] keyNone = new boolean[256];
    private int[] keyHashes = new int[256]; // MetadataIndex.hash of each row
    private long[] keyDims = new long[512];
    private int[] keyStart = new int[257];
    private int keys;

    // storage records
    private int[] recPath = new int[256];
    private long[] recOffset = new long[256];
    private long[] recLength = new long[256];
    private Map<Integer, List<String>> recTransforms;
    private int records;
    private final List<String> paths = new ArrayList<>();
    private final Map<String, Integer> pathIds = new HashMap<>();

    // ---- chunk boxes ----

    int addBox(long[] offsets, long[] sizes) {
        int n = offsets.length;
        int at = boxStart[boxes];
        boxDims = ensure(boxDims, at + 2L * n);
        System.arraycopy(offsets, 0, boxDims, at, n);
        System.arraycopy(sizes, 0, boxDims, at + n, n);
        return endBox(at + 2 * n);
    }

    int addBox(TorchSize offsets, TorchSize sizes) {
        int n = offsets.rank();
        int at = boxStart[boxes];
        boxDims = ensure(boxDims, at + 2L * n);
        for (int i = 0; i < n; i++) {
            boxDims[at + i] = offsets.dim(i);
            boxDims[at + n + i] = sizes.dim(i);
        }
        return endBox(at + 2 * n);
    }

    /** A box from two {@code torch.Size} fields of a record state read without objects. */
    int addBox(ckpt.format.pickle.FieldState f, int offsets, int sizes) {
        int n = f.rank(offsets);
        int at = boxStart[boxes];
        boxDims = ensure(boxDims, at + 2L * n);
        for (int i = 0; i < n; i++) {
            boxDims[at + i] = f.dim(offsets, i);
            boxDims[at + n + i] = f.dim(sizes, i);
        }
        return endBox(at + 2 * n);
    }

    private int endBox(int end) {
        if (boxes + 2 > boxStart.length) boxStart = Arrays.copyOf(boxStart, grow(boxStart.length));
        boxStart[++boxes] = end;
        return boxes - 1;
    }

    int boxRank(int row) {
        return (boxStart[row + 1] - boxStart[row]) / 2;
    }

    long boxOffset(int row, int axis) {
        return boxDims[boxStart[row] + axis];
    }

    long boxSize(int row, int axis) {
        return boxDims[boxStart[row] + boxRank(row) + axis];
    }

    long[] boxOffsets(int row) {
        return Arrays.copyOfRange(boxDims, boxStart[row], boxStart[row] + boxRank(row));
    }

    long[] boxSizes(int row) {
        return Arrays.copyOfRange(boxDims, boxStart[row] + boxRank(row), boxStart[row + 1]);
    }

    // ---- storage keys ----

    /** @param offsets null for a bytes item */
    int addKey(String fqn, TorchSize offsets) {
        return addKey(fqn, offsets == null ? null : offsets.dims());
    }

    /** A key whose offsets are a {@code torch.Size} field of a record state read without objects. */
    int addKey(String fqn, ckpt.format.pickle.FieldState f, int field) {
        long[] offsets = new long[f.rank(field)];
        for (int i = 0; i < offsets.length; i++) offsets[i] = f.dim(field, i);
        return addKey(fqn, offsets);
    }

    int addKey(String fqn, long[] offsets) {
        if (keys + 1 > keyFqn.length) {
            keyFqn = Arrays.copyOf(keyFqn, grow(keyFqn.length));
            keyNone = Arrays.copyOf(keyNone, keyFqn.length);
            keyHashes = Arrays.copyOf(keyHashes, keyFqn.length);
        }
        if (keys + 2 > keyStart.length) keyStart = Arrays.copyOf(keyStart, grow(keyStart.length));
        int at = keyStart[keys];
        int n = offsets == null ? 0 : offsets.length;
        keyDims = ensure(keyDims, at + (long) n);
        if (n > 0) System.arraycopy(offsets, 0, keyDims, at, n);
        keyFqn[keys] = canonical(fqn);
        keyNone[keys] = offsets == null;
        keyStart[keys + 1] = at + n;
        keyHashes[keys] = MetadataIndex.hash(keyFqn[keys], offsets, 0, n); // now, while the name is in the cache
        return keys++;
    }

    private final Map<String, String> fqns = new HashMap<>();
    private String lastFqn;
    private String lastCanonical;

    /**
     * One String instance per key name: the tensors' names and their storage keys' names are distinct objects of
     * the pickle, and matching 1.4 M chunks to their records compared them byte by byte.
     */
    String canonical(String fqn) {
        if (fqn == lastFqn) return lastCanonical;
        String c = fqns.putIfAbsent(fqn, fqn);
        lastFqn = fqn;
        lastCanonical = c == null ? fqn : c;
        return lastCanonical;
    }

    String keyFqn(int row) {
        return keyFqn[row];
    }

    MetadataIndex key(int row) {
        return new MetadataIndex(keyFqn[row], keyNone[row] ? null : Arrays.copyOfRange(keyDims, keyStart[row], keyStart[row + 1]));
    }

    /** Hash of a key row, equal to {@link MetadataIndex#hashCode()} of the same key. */
    int keyHash(int row) {
        return keyHashes[row];
    }

    boolean keyEquals(int row, String fqn, long[] dims, int from, int to) {
        if (!keyFqn[row].equals(fqn)) return false;
        if (dims == null || keyNone[row]) return dims == null && keyNone[row];
        return Arrays.equals(keyDims, keyStart[row], keyStart[row + 1], dims, from, to);
    }

    boolean keyEqualsKey(int row, int other) {
        return keyEquals(row, keyFqn[other], keyNone[other] ? null : keyDims, keyStart[other], keyStart[other + 1]);
    }

    /** Whether the key row is {@code fqn} at the chunk box row's offsets. */
    boolean keyIsChunk(int row, String fqn, int box) {
        return keyEquals(row, fqn, boxDims, boxStart[box], boxStart[box] + boxRank(box));
    }

    int chunkHash(String fqn, int box) {
        return MetadataIndex.hash(fqn, boxDims, boxStart[box], boxStart[box] + boxRank(box));
    }

    // ---- storage records ----

    int addRecord(String relativePath, long offset, long length, List<String> transforms) {
        if (records + 1 > recPath.length) {
            int n = grow(recPath.length);
            recPath = Arrays.copyOf(recPath, n);
            recOffset = Arrays.copyOf(recOffset, n);
            recLength = Arrays.copyOf(recLength, n);
        }
        Integer id = pathIds.get(relativePath);
        if (id == null) {
            id = paths.size();
            paths.add(relativePath);
            pathIds.put(relativePath, id);
        }
        recPath[records] = id;
        recOffset[records] = offset;
        recLength[records] = length;
        if (!transforms.isEmpty()) {
            if (recTransforms == null) recTransforms = new HashMap<>();
            recTransforms.put(records, List.copyOf(transforms));
        }
        return records++;
    }

    /** The index of the record's relative path among the distinct paths. */
    int recordPathId(int row) {
        return recPath[row];
    }

    String recordPath(int row) {
        return paths.get(recPath[row]);
    }

    long recordOffset(int row) {
        return recOffset[row];
    }

    long recordLength(int row) {
        return recLength[row];
    }

    StorageInfo record(int row) {
        List<String> t = recTransforms == null ? null : recTransforms.get(row);
        return new StorageInfo(paths.get(recPath[row]), recOffset[row], recLength[row], t == null ? List.of() : t);
    }

    /** The distinct relative paths, each checked once rather than once per record. */
    List<String> paths() {
        return paths;
    }

    // ---- container items taken by the reader's sink ----

    private final Map<Object, SunkItems> sunk = new java.util.IdentityHashMap<>();

    /** The items the sink took from this container (a dict or list of the pickle), or null if none. */
    SunkItems sunk(Object container) {
        return sunk.isEmpty() ? null : sunk.get(container);
    }

    /** How many containers the sink took items from. */
    int sunkContainers() {
        return sunk.size();
    }

    SunkItems sinkFor(Object container) {
        return sunk.computeIfAbsent(container, c -> new SunkItems());
    }

    private int objects;

    /** A well-spread hash for the next pickled key object of this read (keys compare by identity). */
    int nextObjectHash() {
        return ++objects * 0x9E3779B9;
    }

    // ---- growth ----

    private static int grow(int n) {
        long m = n * 2L;
        if (m > Integer.MAX_VALUE - 8) throw new IllegalStateException("more DCP records than a Java array holds");
        return (int) m;
    }

    private static long[] ensure(long[] a, long need) {
        if (need <= a.length) return a;
        if (need > Integer.MAX_VALUE - 8) throw new IllegalStateException("more DCP records than a Java array holds");
        return Arrays.copyOf(a, (int) Math.max(need, Math.min(a.length * 2L, Integer.MAX_VALUE - 8)));
    }
}
