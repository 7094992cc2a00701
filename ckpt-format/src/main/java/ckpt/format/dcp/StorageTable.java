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
    private int[] slots;       // key row + 1; 0 = empty
    private int[] slotRecord;
    private int[] order;       // slots in first-insertion order
    private int size;

    StorageTable(DcpColumns columns) {
        this(columns, 16);
    }

    /** @param expected entries the table will hold: sized once, so 1.4 M keys are never rehashed */
    StorageTable(DcpColumns columns, int expected) {
        this.columns = columns;
        int capacity = Integer.highestOneBit(Math.max(16, Math.min(expected, 1 << 29)) * 2 - 1) * 2;
        slots = new int[capacity];
        slotRecord = new int[capacity];
        order = new int[Math.max(16, Math.min(expected, 1 << 29))];
    }

    void put(int keyRow, int recordRow) {
        if ((size + 1) * 2L > slots.length) rehash(slots.length * 2);
        int mask = slots.length - 1;
        for (int i = spread(columns.keyHash(keyRow)) & mask; ; i = (i + 1) & mask) {
            if (slots[i] == 0) {
                slots[i] = keyRow + 1;
                slotRecord[i] = recordRow;
                if (size == order.length) order = Arrays.copyOf(order, size * 2);
                order[size++] = i;
                return;
            }
            if (columns.keyEqualsKey(slots[i] - 1, keyRow)) {
                slotRecord[i] = recordRow;
                return;
            }
        }
    }

    /** The record row of {@code fqn} at the offsets of chunk box {@code box}, or -1. */
    int findChunk(String fqn, int box) {
        int mask = slots.length - 1;
        for (int i = spread(columns.chunkHash(fqn, box)) & mask; slots[i] != 0; i = (i + 1) & mask)
            if (columns.keyIsChunk(slots[i] - 1, fqn, box)) return slotRecord[i];
        return -1;
    }

    /** The record row of a key (offsets null for a bytes item), or -1. */
    int find(String fqn, long[] offsets) {
        int mask = slots.length - 1;
        int to = offsets == null ? 0 : offsets.length;
        for (int i = spread(MetadataIndex.hash(fqn, offsets, 0, to)) & mask; slots[i] != 0; i = (i + 1) & mask)
            if (columns.keyEquals(slots[i] - 1, fqn, offsets, 0, to)) return slotRecord[i];
        return -1;
    }

    int size() {
        return size;
    }

    private void rehash(int capacity) {
        int[] oldSlots = slots, oldRecord = slotRecord;
        slots = new int[capacity];
        slotRecord = new int[capacity];
        int mask = capacity - 1;
        for (int n = 0; n < size; n++) {
            int from = order[n];
            int i = spread(columns.keyHash(oldSlots[from] - 1)) & mask;
            while (slots[i] != 0) i = (i + 1) & mask;
            slots[i] = oldSlots[from];
            slotRecord[i] = oldRecord[from];
            order[n] = i;
        }
    }

    private static int spread(int h) {
        return h ^ (h >>> 16);
    }

    /** The table as the decoded metadata's read-only storage map (entries in first-insertion order). */
    Map<MetadataIndex, StorageInfo> asMap() {
        return new AbstractMap<>() {
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
                        return new Iterator<>() {
                            private int n;

                            @Override
                            public boolean hasNext() {
                                return n < size;
                            }

                            @Override
                            public StorageInfo next() {
                                if (n >= size) throw new NoSuchElementException();
                                return columns.record(slotRecord[order[n++]]);
                            }
                        };
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
                        return new Iterator<>() {
                            private int n;

                            @Override
                            public boolean hasNext() {
                                return n < size;
                            }

                            @Override
                            public Entry<MetadataIndex, StorageInfo> next() {
                                if (n >= size) throw new NoSuchElementException();
                                int slot = order[n++];
                                return Map.entry(columns.key(slots[slot] - 1), columns.record(slotRecord[slot]));
                            }
                        };
                    }
                };
            }
        };
    }
}
