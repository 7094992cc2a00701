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
     * The memo slots of the indices read back: slot s keeps index {@code indices[s]}. Found through an
     * open-addressing table, since the reader asks once per memo opcode (~43 M times at 405B scale).
     */
    static final class Slots {
        private final int[] indices;
        private final int[] table; // index + 1 of each slot's entry; 0 = empty
        private final int[] tableSlot;

        Slots(int[] ascending) {
            this.indices = ascending;
            int cap = Integer.highestOneBit(Math.max(4, ascending.length * 3)) * 2; // load ≤ 1/3
            table = new int[cap];
            tableSlot = new int[cap];
            for (int s = 0; s < ascending.length; s++) {
                int i = home(ascending[s]);
                while (table[i] != 0) i = (i + 1) & (cap - 1);
                table[i] = ascending[s] + 1;
                tableSlot[i] = s;
            }
        }

        private int cursor; // indices[cursor - 1] < the last index asked with isRead

        int count() {
            return indices.length;
        }

        /**
         * Whether memo index {@code index} is read back. MEMOIZE asks in ascending order (20 M times at 405B
         * scale): a cursor walks the sorted indices then, instead of a hash probe that misses the cache.
         */
        boolean isRead(long index) {
            if (index < 0 || index >= Integer.MAX_VALUE) return false;
            int i = (int) index;
            if (cursor > 0 && indices[cursor - 1] >= i) return slotOf(i) >= 0;
            while (cursor < indices.length && indices[cursor] < i) cursor++;
            return cursor < indices.length && indices[cursor] == i;
        }

        /** The slot of memo index {@code index}, or -1 when the pickle never reads it. */
        int slotOf(long index) {
            if (index < 0 || index >= Integer.MAX_VALUE) return -1;
            int key = (int) index + 1;
            for (int i = home((int) index); ; i = (i + 1) & (table.length - 1)) {
                int t = table[i];
                if (t == key) return tableSlot[i];
                if (t == 0) return -1;
            }
        }

        private int home(int index) {
            return (index * 0x9E3779B9 >>> 7) & (table.length - 1);
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
