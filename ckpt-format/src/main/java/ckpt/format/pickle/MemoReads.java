package ckpt.format.pickle;

import static ckpt.format.pickle.Opcodes.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The memo indices a pickle ever reads back (GET, BINGET, LONG_BINGET), found by one pass over the opcodes that
 * builds no values. Protocol 4 memoizes every object, so a large DCP {@code .metadata} puts ~20 M objects in the memo
 * and reads back ~25 k of them; keeping only those turns a live set of gigabytes (and the GC time that copies it)
 * into the result alone. The scan checks nothing: on anything it cannot step over (an unknown opcode, a length past
 * the end) it answers null, and the reader keeps every memo entry and reports the problem itself.
 */
final class MemoReads {

    private MemoReads() {
    }

    /**
     * The indices read from the pickle at {@code start} up to its STOP, those below {@code maxIndex} only (a read of
     * a higher one fails in the reader anyway); null when the opcodes cannot be walked.
     */
    static Slots scan(MemorySegment seg, long start, int maxIndex) {
        long size = seg.byteSize();
        long pos = start;
        Bits reads = new Bits();
        while (pos < size) {
            int op = seg.get(ValueLayout.JAVA_BYTE, pos++) & 0xFF;
            long skip; // argument bytes after the opcode, or -1 for a newline-terminated argument
            int lines = 0;
            switch (op) {
                case STOP -> {
                    return new Slots(reads.toArray());
                }
                case MARK, POP, POP_MARK, DUP, NONE, NEWTRUE, NEWFALSE, BINPERSID, REDUCE, APPEND, APPENDS, BUILD,
                     DICT, EMPTY_DICT, LIST, EMPTY_LIST, OBJ, SETITEM, SETITEMS, TUPLE, EMPTY_TUPLE, TUPLE1, TUPLE2,
                     TUPLE3, NEWOBJ, NEWOBJ_EX, EMPTY_SET, ADDITEMS, FROZENSET, STACK_GLOBAL, MEMOIZE, NEXT_BUFFER,
                     READONLY_BUFFER -> skip = 0;
                case PROTO, BININT1, BINPUT, EXT1 -> skip = 1;
                case BININT2, EXT2 -> skip = 2;
                case BININT, LONG_BINPUT, EXT4 -> skip = 4;
                case FRAME, BINFLOAT -> skip = 8;
                case BINGET -> {
                    if (pos + 1 > size) return null;
                    mark(reads, seg.get(ValueLayout.JAVA_BYTE, pos) & 0xFF, maxIndex);
                    skip = 1;
                }
                case LONG_BINGET -> {
                    if (pos + 4 > size) return null;
                    mark(reads, u32(seg, pos), maxIndex);
                    skip = 4;
                }
                case LONG1, SHORT_BINSTRING, SHORT_BINUNICODE, SHORT_BINBYTES -> {
                    if (pos + 1 > size) return null;
                    skip = 1 + (seg.get(ValueLayout.JAVA_BYTE, pos) & 0xFF);
                }
                case LONG4, BINSTRING, BINUNICODE, BINBYTES -> {
                    if (pos + 4 > size) return null;
                    skip = 4 + (u32(seg, pos));
                }
                case BINUNICODE8, BINBYTES8, BYTEARRAY8 -> {
                    if (pos + 8 > size) return null;
                    long n = u32(seg, pos) | u32(seg, pos + 4) << 32;
                    if (n < 0) return null;
                    skip = 8 + n;
                }
                case GET -> {
                    long end = lineEnd(seg, pos, size);
                    if (end < 0) return null;
                    long index = decimal(seg, pos, end);
                    if (index < 0) return null; // a spelling only the reader judges
                    mark(reads, index, maxIndex);
                    pos = end + 1;
                    skip = 0;
                }
                case INT, LONG, FLOAT, STRING, UNICODE, PUT, PERSID -> {
                    skip = -1;
                    lines = 1;
                }
                case GLOBAL, INST -> {
                    skip = -1;
                    lines = 2;
                }
                default -> {
                    return null;
                }
            }
            if (skip >= 0) {
                if (skip > size - pos) return null;
                pos += skip;
            } else {
                for (int i = 0; i < lines; i++) {
                    long end = lineEnd(seg, pos, size);
                    if (end < 0) return null;
                    pos = end + 1;
                }
            }
        }
        return null; // no STOP: the reader reports the truncation
    }

    /**
     * Little-endian u32 from single bytes: the scan runs before the JIT has warmed up, and there a byte read is much
     * cheaper than a multi-byte layout access (which resolved its var handle on every call under C1).
     */
    private static long u32(MemorySegment seg, long at) {
        return (seg.get(ValueLayout.JAVA_BYTE, at) & 0xFFL) | (seg.get(ValueLayout.JAVA_BYTE, at + 1) & 0xFFL) << 8
                | (seg.get(ValueLayout.JAVA_BYTE, at + 2) & 0xFFL) << 16 | (seg.get(ValueLayout.JAVA_BYTE, at + 3) & 0xFFL) << 24;
    }

    private static void mark(Bits reads, long index, int maxIndex) {
        if (index < maxIndex) reads.set((int) index);
    }

    /** A growable bit set without {@link java.util.BitSet}'s per-call bookkeeping (22 M sets at 405B scale). */
    private static final class Bits {
        private long[] words = new long[1024];

        void set(int i) {
            int w = i >>> 6;
            if (w >= words.length) words = Arrays.copyOf(words, Math.max(w + 1, words.length * 2));
            words[w] |= 1L << i;
        }

        int[] toArray() {
            int n = 0;
            for (long w : words) n += Long.bitCount(w);
            int[] out = new int[n];
            int k = 0;
            for (int w = 0; w < words.length; w++)
                for (long bits = words[w]; bits != 0; bits &= bits - 1) out[k++] = (w << 6) + Long.numberOfTrailingZeros(bits);
            return out;
        }
    }

    /**
     * The memo slots of the indices kept: slot s keeps one index. Either fixed, from a scan (the indices read back),
     * or growing, when the reader keeps every index outside record states without a scan ({@link #growing}). Found
     * through an open-addressing table, since the reader asks once per memo opcode (~43 M times at 405B scale).
     */
    static final class Slots {
        private int[] indices; // fixed: ascending; growing: by slot
        private int count;
        private int[] table;   // index + 1 of each entry; 0 = empty
        private int[] tableSlot;
        private final boolean fixed;
        private int cursor;    // fixed: indices[cursor - 1] < the last index asked with isRead

        Slots(int[] ascending) {
            this.fixed = true;
            this.indices = ascending;
            this.count = ascending.length;
            rebuild(Integer.highestOneBit(Math.max(4, count * 3)) * 2); // load ≤ 1/3
        }

        private Slots() {
            this.fixed = false;
            this.indices = new int[256];
            this.table = new int[1024];
            this.tableSlot = new int[1024];
        }

        /** An empty table that {@link #add} fills. */
        static Slots growing() {
            return new Slots();
        }

        int count() {
            return count;
        }

        /** Gives growing-mode index {@code index} (not yet kept) the next slot. */
        int add(int index) {
            if (fixed) throw new IllegalStateException("fixed memo slots");
            if (count == indices.length) indices = Arrays.copyOf(indices, count * 2);
            indices[count] = index;
            if ((count + 1) * 3L > table.length) rebuild(table.length * 2);
            else insert(index, count);
            return count++;
        }

        private void rebuild(int capacity) {
            table = new int[capacity];
            tableSlot = new int[capacity];
            int n = fixed ? count : count + 1; // growing: the entry being added is in indices already
            for (int s = 0; s < n; s++) insert(indices[s], s);
        }

        private void insert(int index, int slot) {
            int i = home(index);
            while (table[i] != 0) i = (i + 1) & (table.length - 1);
            table[i] = index + 1;
            tableSlot[i] = slot;
        }

        /**
         * Whether memo index {@code index} is kept. MEMOIZE asks in ascending order (20 M times at 405B scale): a
         * fixed table walks a cursor over its sorted indices then, instead of a hash probe that misses the cache.
         */
        boolean isRead(long index) {
            if (index < 0 || index >= Integer.MAX_VALUE) return false;
            int i = (int) index;
            if (!fixed || (cursor > 0 && indices[cursor - 1] >= i)) return slotOf(i) >= 0;
            while (cursor < count && indices[cursor] < i) cursor++;
            return cursor < count && indices[cursor] == i;
        }

        /** The slot of memo index {@code index}, or -1 when it is not kept. */
        int slotOf(long index) {
            if (index < 0 || index >= Integer.MAX_VALUE) return -1;
            int key = (int) index + 1;
            for (int i = home((int) index); ; i = (i + 1) & (table.length - 1)) {
                int t = table[i];
                if (t == key) return tableSlot[i];
                if (t == 0) return -1;
            }
        }

        /** Fibonacci hashing: the product's high bits, which every bit of the index reaches. */
        private int home(int index) {
            return (index * 0x9E3779B9) >>> (32 - Integer.numberOfTrailingZeros(table.length));
        }
    }

    private static long lineEnd(MemorySegment seg, long from, long size) {
        for (long p = from; p < size; p++) if (seg.get(ValueLayout.JAVA_BYTE, p) == '\n') return p;
        return -1;
    }

    /** A plain decimal memo index, or -1 (the reader decides what an odd one means). */
    private static long decimal(MemorySegment seg, long from, long end) {
        if (end == from || end - from > 10) return -1;
        long v = 0;
        for (long p = from; p < end; p++) {
            int c = seg.get(ValueLayout.JAVA_BYTE, p);
            if (c < '0' || c > '9') return -1;
            v = v * 10 + (c - '0');
        }
        return v;
    }
}
