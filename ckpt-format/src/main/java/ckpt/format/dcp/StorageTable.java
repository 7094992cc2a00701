package ckpt.format.dcp;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * {@code storage_data} over {@link DcpColumns}: key row → record row in an open-addressing table, as a dict keeps
 * them (an equal key later replaces the record, in its first place). Seen as a {@code Map<MetadataIndex, StorageInfo>}
 * whose entries are made when read, so 1.4 M records cost two ints a slot rather than a map node and two objects.
 */
final class StorageTable {
    private final DcpColumns columns;
    /**
     * Slot i is {@code table[2i .. 2i+2)}: entry number + 1 (0 = empty), key hash; the hash is compared before the
     * key's columns are (1.4 M random probes at 405B), and two ints a slot keep the table at 32 MB there.
     */
    private int[] table;
    private int capacity;      // slots, a power of two
    /**
     * Entry n (first-insertion order) is {@code entries[2n .. 2n+2)}: key row, record row. Dense and in order, so
     * walking the map (record ends per file, the views) reads memory front to back instead of probing the table.
     */
    private int[] entries;
    private int size;

    StorageTable(DcpColumns columns) {
        this(columns, 16);
    }

    /** @param expected entries the table will hold: sized once, so 1.4 M keys are never rehashed */
    StorageTable(DcpColumns columns, int expected) {
        this.columns = columns;
        int n = Math.max(16, Math.min(expected, 1 << 26));
        capacity = Integer.highestOneBit(n * 2 - 1) * 2;
        table = new int[2 * capacity];
        entries = new int[2 * n];
    }

    void put(int keyRow, int recordRow) {
        if ((size + 1) * 2L > capacity) rehash(capacity * 2);
        int mask = capacity - 1;
        int hash = columns.keyHash(keyRow);
        for (int i = spread(hash) & mask; ; i = (i + 1) & mask) {
            int at = 2 * i;
            if (table[at] == 0) {
                if (2 * size == entries.length) entries = Arrays.copyOf(entries, entries.length * 2);
                entries[2 * size] = keyRow;
                entries[2 * size + 1] = recordRow;
                table[at] = ++size;
                table[at + 1] = hash;
                return;
            }
            if (table[at + 1] == hash && columns.keyEqualsKey(keyAt(table[at] - 1), keyRow)) {
                entries[2 * (table[at] - 1) + 1] = recordRow; // a dict keeps the first place of a replaced key
                return;
            }
        }
    }

    /** The record row of {@code fqn} at the offsets of chunk box {@code box}, or -1. */
    int findChunk(String fqn, int box) {
        int mask = capacity - 1;
        int hash = columns.chunkHash(fqn, box);
        for (int i = spread(hash) & mask; table[2 * i] != 0; i = (i + 1) & mask) {
            int at = 2 * i;
            if (table[at + 1] == hash) {
                int n = table[at] - 1;
                if (columns.keyIsChunk(keyAt(n), fqn, box)) return recordAt(n);
            }
        }
        return -1;
    }

    /** The record row of a key (offsets null for a bytes item), or -1. */
    int find(String fqn, long[] offsets) {
        int mask = capacity - 1;
        int to = offsets == null ? 0 : offsets.length;
        int hash = MetadataIndex.hash(fqn, offsets, 0, to);
        for (int i = spread(hash) & mask; table[2 * i] != 0; i = (i + 1) & mask) {
            int at = 2 * i;
            if (table[at + 1] == hash) {
                int n = table[at] - 1;
                if (columns.keyEquals(keyAt(n), fqn, offsets, 0, to)) return recordAt(n);
            }
        }
        return -1;
    }

    int size() {
        return size;
    }

    private void rehash(int newCapacity) {
        if (newCapacity > 1 << 29) throw new IllegalStateException("more DCP storage records than a Java array holds");
        table = new int[2 * newCapacity];
        capacity = newCapacity;
        int mask = capacity - 1;
        for (int n = 0; n < size; n++) {
            int hash = columns.keyHash(keyAt(n));
            int i = spread(hash) & mask;
            while (table[2 * i] != 0) i = (i + 1) & mask;
            table[2 * i] = n + 1;
            table[2 * i + 1] = hash;
        }
    }

    private static int spread(int h) {
        return h ^ (h >>> 16);
    }

    /** The key row of entry {@code n}. */
    private int keyAt(int n) {
        return entries[2 * n];
    }

    /** The record row of entry {@code n}. */
    private int recordAt(int n) {
        return entries[2 * n + 1];
    }

    /** The table as the decoded metadata's read-only storage map (entries in first-insertion order). */
    Map<MetadataIndex, StorageInfo> asMap() {
        return new View();
    }

    /** The furthest record end in each file named by a record of the table, in first-seen order: no object a record. */
    Map<String, Long> recordEnds() {
        long[] end = new long[columns.paths().size()];
        Arrays.fill(end, Long.MIN_VALUE);
        int[] seen = new int[end.length];
        int files = 0;
        for (int n = 0; n < size; n++) {
            int r = recordAt(n);
            int p = columns.recordPathId(r);
            if (end[p] == Long.MIN_VALUE) seen[files++] = p;
            end[p] = Math.max(end[p], columns.recordOffset(r) + columns.recordLength(r)); // both checked: no overflow
        }
        Map<String, Long> out = new java.util.LinkedHashMap<>();
        for (int i = 0; i < files; i++) out.put(columns.paths().get(seen[i]), end[seen[i]]);
        return out;
    }

    /** The storage map view; {@link DcpMetadata#recordEnds} asks it for the files' ends without making records. */
    final class View extends AbstractMap<MetadataIndex, StorageInfo> {
        Map<String, Long> recordEnds() {
            return StorageTable.this.recordEnds();
        }

        @Override
        public int size() {
            return size;
        }

        @Override
        public StorageInfo get(Object key) {
            int r = key instanceof MetadataIndex m ? find(m.fqn(), m.offset()) : -1;
            return r < 0 ? null : columns.record(r);
        }

        @Override
        public boolean containsKey(Object key) {
            return key instanceof MetadataIndex m && find(m.fqn(), m.offset()) >= 0;
        }

        /** The records alone, without making each key (inspect sums 1.4 M record ends per file). */
        @Override
        public java.util.Collection<StorageInfo> values() {
            return new java.util.AbstractCollection<>() {
                @Override
                public int size() {
                    return size;
                }

                @Override
                public Iterator<StorageInfo> iterator() {
                    return new EntryIterator<>(n -> columns.record(recordAt(n)));
                }
            };
        }

        @Override
        public Set<Entry<MetadataIndex, StorageInfo>> entrySet() {
            return new AbstractSet<>() {
                @Override
                public int size() {
                    return size;
                }

                @Override
                public Iterator<Entry<MetadataIndex, StorageInfo>> iterator() {
                    return new EntryIterator<>(n -> Map.entry(columns.key(keyAt(n)), columns.record(recordAt(n))));
                }
            };
        }
    }

    /** The entries in first-insertion order, each made into a value when reached. */
    private final class EntryIterator<T> implements Iterator<T> {
        private final java.util.function.IntFunction<T> make;
        private int n;

        EntryIterator(java.util.function.IntFunction<T> make) {
            this.make = make;
        }

        @Override
        public boolean hasNext() {
            return n < size;
        }

        @Override
        public T next() {
            if (n >= size) throw new NoSuchElementException();
            return make.apply(n++);
        }
    }
}
