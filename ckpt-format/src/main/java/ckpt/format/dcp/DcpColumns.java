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
    /**
     * The guess of {@code .metadata} bytes a chunk row takes (box, key and record: ~150 at 405B as torch lays them
     * out), a little low so a torch save's rows fit; a denser file grows past the guess by doubling.
     */
    static final long BYTES_PER_ROW = 128;
    /** Presize at most this many rows (405B: 1.4 M): ~117 bytes of columns a row, so ~250 MB at most. */
    static final int MAX_PRESIZE_ROWS = 1 << 21;
    /** {@code torch.Size} entries a row's box and key presize for: Megatron's stacked-layer chunks have rank 3. */
    private static final int PRESIZE_RANK = 3;

    /**
     * Rows the arrays grow to at their first growth past their small start, instead of doubling there: at 405B the
     * doubling copies were 330 of the 742 MB allocated, and the garbage collector copied the live ones again. Only
     * a file that already has more rows than the arrays start with pays for it, and never more than
     * {@link #MAX_PRESIZE_ROWS}; a file with more rows than guessed grows them by doubling.
     */
    private final int presizeRows;
    /** The same once, for the first dict whose items a sink takes ({@code storage_data}), then 0. */
    private int sinkPresizeRows;

    DcpColumns() {
        this(0);
    }

    /** @param metadataBytes the {@code .metadata} size, a bound of its rows */
    DcpColumns(long metadataBytes) {
        presizeRows = presizeRows(metadataBytes);
        sinkPresizeRows = presizeRows;
    }

    static int presizeRows(long metadataBytes) {
        return (int) Math.max(0, Math.min(MAX_PRESIZE_ROWS, metadataBytes / BYTES_PER_ROW));
    }

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
        boxDims = ensure(boxDims, at + 2L * n, 2L * PRESIZE_RANK * presizeRows);
        System.arraycopy(offsets, 0, boxDims, at, n);
        System.arraycopy(sizes, 0, boxDims, at + n, n);
        return endBox(at + 2 * n);
    }

    int addBox(TorchSize offsets, TorchSize sizes) {
        int n = offsets.rank();
        int at = boxStart[boxes];
        boxDims = ensure(boxDims, at + 2L * n, 2L * PRESIZE_RANK * presizeRows);
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
        boxDims = ensure(boxDims, at + 2L * n, 2L * PRESIZE_RANK * presizeRows);
        for (int i = 0; i < n; i++) {
            boxDims[at + i] = f.dim(offsets, i);
            boxDims[at + n + i] = f.dim(sizes, i);
        }
        return endBox(at + 2 * n);
    }

    private int endBox(int end) {
        if (boxes + 2 > boxStart.length) boxStart = Arrays.copyOf(boxStart, grow(boxStart.length, presizeRows + 1));
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
        int n = f.rank(field);
        int at = reserveKey(n);
        for (int i = 0; i < n; i++) keyDims[at + i] = f.dim(field, i);
        return endKey(fqn, false, at, n);
    }

    int addKey(String fqn, long[] offsets) {
        int n = offsets == null ? 0 : offsets.length;
        int at = reserveKey(n);
        if (n > 0) System.arraycopy(offsets, 0, keyDims, at, n);
        return endKey(fqn, offsets == null, at, n);
    }

    /** Room for one more key row of {@code n} offsets; returns where they go in {@link #keyDims}. */
    private int reserveKey(int n) {
        if (keys + 1 > keyFqn.length) {
            keyFqn = Arrays.copyOf(keyFqn, grow(keyFqn.length, presizeRows));
            keyNone = Arrays.copyOf(keyNone, keyFqn.length);
            keyHashes = Arrays.copyOf(keyHashes, keyFqn.length);
        }
        if (keys + 2 > keyStart.length) keyStart = Arrays.copyOf(keyStart, grow(keyStart.length, presizeRows + 1));
        int at = keyStart[keys];
        keyDims = ensure(keyDims, at + (long) n, (long) PRESIZE_RANK * presizeRows);
        return at;
    }

    private int endKey(String fqn, boolean none, int at, int n) {
        keyFqn[keys] = canonical(fqn);
        keyNone[keys] = none;
        keyStart[keys + 1] = at + n;
        keyHashes[keys] = MetadataIndex.hash(keyFqn[keys], none ? null : keyDims, at, at + n); // now, while the name is in the cache
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
            int n = grow(recPath.length, presizeRows);
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

    /** @param dict a dict's items (presized once, for {@code storage_data}) rather than a chunk list's */
    SunkItems sinkFor(Object container, boolean dict) {
        SunkItems s = sunk.get(container);
        if (s == null) {
            s = new SunkItems(dict ? sinkPresizeRows : 0);
            if (dict) sinkPresizeRows = 0;
            sunk.put(container, s);
        }
        return s;
    }

    private int objects;

    /** A well-spread hash for the next pickled key object of this read (keys compare by identity). */
    int nextObjectHash() {
        return ++objects * 0x9E3779B9;
    }

    // ---- growth ----

    /** The next length of a full array of {@code n}: {@code presize} if that is more, else twice {@code n}. */
    static int grow(int n, int presize) {
        if (presize > n) return presize;
        long m = n * 2L;
        if (m > Integer.MAX_VALUE - 8) throw new IllegalStateException("more DCP records than a Java array holds");
        return (int) m;
    }

    /** {@code a}, or a longer copy holding {@code need}: at least {@code presize} long, else doubled. */
    static long[] ensure(long[] a, long need, long presize) {
        if (need <= a.length) return a;
        if (need > Integer.MAX_VALUE - 8) throw new IllegalStateException("more DCP records than a Java array holds");
        long next = presize > a.length ? presize : Math.min(a.length * 2L, Integer.MAX_VALUE - 8);
        return Arrays.copyOf(a, (int) Math.max(need, next));
    }

    /** Array lengths now, for tests: box dims, box rows, key rows, key dims, record rows. */
    int[] capacities() {
        return new int[]{boxDims.length, boxStart.length, keyFqn.length, keyDims.length, recPath.length};
    }
}
