package ckpt.format.pickle;

import static ckpt.format.pickle.Opcodes.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * The BUILD state of a small record object read straight from the opcodes, without making the dict, its tuples and
 * its {@code torch.Size}s: field names, and per field an int, None, a {@code torch.Size} (as dims) or a memo value.
 * A 405B-scale DCP {@code .metadata} is 1.4 M chunks × three such records, ~95 % of its 115 M opcodes; decoded one
 * opcode at a time they made ~2 GB of short-lived objects.
 *
 * <p>{@link #scan} accepts only the exact shape picklers write for a dataclass or {@code __dict__} state of scalar
 * fields ({@code MEMOIZE EMPTY_DICT MEMOIZE MARK (key value)… SETITEMS BUILD}, or one item and {@code SETITEM}),
 * and only when none of the values it skips is ever read back from the memo. It changes nothing; on any other
 * shape, at a FRAME boundary, or where the generic reader would fail, it answers -1 and the reader goes on opcode by
 * opcode, so results, errors and limits are those of the generic path.
 */
public final class FieldState {
    /** What a field holds. */
    public enum Kind { INT, NONE, SIZE, OBJECT }

    static final int MAX_FIELDS = 8;
    static final int MAX_RANK = 8;
    /** Longest string literal taken (UTF-8 bytes); a longer one is read by the generic path. */
    static final int MAX_STRING = 1 << 16;

    private final String[] names = new String[MAX_FIELDS];
    private final Kind[] kinds = new Kind[MAX_FIELDS];
    private final long[] ints = new long[MAX_FIELDS];
    private final Object[] objects = new Object[MAX_FIELDS];
    private final long[][] dims = new long[MAX_FIELDS][MAX_RANK];
    private final int[] ranks = new int[MAX_FIELDS];
    private int count;

    // what the span did, for the reader to apply when the object accepts the state
    int memoized;  // MEMOIZE opcodes, at consecutive indices from the reader's memo count
    /** Per MEMOIZE: the value to keep (a string literal, which later records name by memo), or null to drop. */
    final Object[] memoValues = new Object[4 * MAX_FIELDS * 2];
    long pushes;   // values the generic path would have pushed
    long end;      // offset after BUILD

    /** The memo as the scan may see it: a value the reader holds, or null where the generic GET would fail. */
    interface Memo {
        Object get(long index);

        /** Whether the memo index assigned by a MEMOIZE here may be dropped (never read back, within limits). */
        boolean droppable(long index);

        /** Whether a MEMOIZE here may assign the index (within limits, not assigned before). */
        boolean fresh(long index);

        /** Whether {@code g} is {@code torch.Size} interpreted by the built-in reducer. */
        boolean isTorchSize(Object g);
    }

    FieldState() {
    }

    /** The index of the last field named {@code name} (a later duplicate key wins, as in a dict), or -1. */
    public int find(String name) {
        for (int i = count - 1; i >= 0; i--) if (names[i].equals(name)) return i;
        return -1;
    }

    public int size() {
        return count;
    }

    public String name(int i) {
        return names[i];
    }

    public Kind kind(int i) {
        return kinds[i];
    }

    public long intValue(int i) {
        return ints[i];
    }

    public Object object(int i) {
        return objects[i];
    }

    public int rank(int i) {
        return ranks[i];
    }

    public long dim(int i, int axis) {
        return dims[i][axis];
    }

    /**
     * Reads the span after a NEWOBJ at {@code pos} into this state.
     * @param memoCount the reader's memo count, the index the first MEMOIZE gets
     * @return the offset after the BUILD, or -1 when the span is not of the accepted shape
     */
    long scan(MemorySegment seg, long pos, long memoCount, Memo memo) {
        long size = seg.byteSize();
        count = 0;
        memoized = 0;
        pushes = 0;
        Cursor c = cursor.reset(seg, pos, size);
        if (!memoize(c, memoCount, memo) || c.op() != EMPTY_DICT) return -1;
        pushes++;
        if (!memoize(c, memoCount, memo)) return -1;
        int op = c.op();
        if (op == MARK) {
            while (true) {
                int next = c.peek();
                if (next == SETITEMS) {
                    c.op();
                    break;
                }
                if (next < 0 || !field(c, memoCount, memo)) return -1;
            }
            if (count == 0) return -1;
        } else {
            c.back();
            if (!field(c, memoCount, memo) || c.op() != SETITEM) return -1;
        }
        if (c.op() != BUILD) return -1;
        end = c.pos;
        return end;
    }

    private final Cursor cursor = new Cursor();

    /** One key/value pair; false when it is not a plain one. */
    private boolean field(Cursor c, long memoCount, Memo memo) {
        if (count == MAX_FIELDS) return false;
        Object key = value(c, memoCount, memo, -1);
        if (!(key instanceof String name)) return false;
        int i = count;
        names[i] = name;
        if (value(c, memoCount, memo, i) == FAIL) return false;
        count++;
        return true;
    }

    private static final Object FAIL = new Object();
    private static final Object SET = new Object();

    /**
     * A key (slot -1: the value itself is returned) or the value of field slot i (stored there; SET returned).
     * FAIL when the opcodes are not of a supported value.
     */
    private Object value(Cursor c, long memoCount, Memo memo, int slot) {
        int op = c.op();
        switch (op) {
            case BININT1, BININT2, BININT, LONG1 -> {
                if (slot < 0) return FAIL;
                long v;
                if (op == BININT1) v = c.u8();
                else if (op == BININT2) v = c.u16();
                else if (op == BININT) v = c.i32();
                else {
                    int n = c.u8();
                    if (n < 1 || n > 8 || !c.has(n)) return FAIL;
                    v = c.signedLittleEndian(n);
                }
                if (c.pos < 0) return FAIL;
                pushes++;
                kinds[slot] = Kind.INT;
                ints[slot] = v;
                return SET;
            }
            case NONE -> {
                if (slot < 0) return FAIL;
                pushes++;
                kinds[slot] = Kind.NONE;
                return SET;
            }
            case SHORT_BINUNICODE, BINUNICODE -> {
                long n = op == SHORT_BINUNICODE ? c.u8() : c.u32();
                if (c.pos < 0 || n > MAX_STRING || !c.has(n)) return FAIL;
                String s = c.utf8((int) n);
                pushes++;
                if (!memoize(c, memoCount, memo, s)) return FAIL;
                return object(slot, s);
            }
            case BINGET, LONG_BINGET -> {
                long index = op == BINGET ? c.u8() : c.u32();
                if (c.pos < 0) return FAIL;
                // an index this span assigned is not in the memo yet: a string literal kept here, or nothing
                Object v = index >= memoCount && index < memoCount + memoized ? memoValues[(int) (index - memoCount)] : memo.get(index);
                if (v == null) return FAIL;
                pushes++;
                if (slot >= 0 && memo.isTorchSize(v) && isSizeArgs(c.peek())) return size(c, memoCount, memo, slot);
                return object(slot, v);
            }
            default -> {
                return FAIL;
            }
        }
    }

    private Object object(int slot, Object v) {
        if (slot < 0) return v;
        kinds[slot] = Kind.OBJECT;
        objects[slot] = v;
        return SET;
    }

    private static boolean isSizeArgs(int op) {
        return op == BININT1 || op == BININT2 || op == BININT || op == MARK;
    }

    /** {@code torch.Size((d0, …))} after its global: dims, tuple, MEMOIZE, TUPLE1, MEMOIZE, REDUCE, MEMOIZE. */
    private Object size(Cursor c, long memoCount, Memo memo, int slot) {
        long[] d = dims[slot];
        boolean marked = c.peek() == MARK;
        if (marked) c.op();
        int rank = 0;
        while (true) {
            int op = c.op();
            long v;
            if (op == BININT1) v = c.u8();
            else if (op == BININT2) v = c.u16();
            else if (op == BININT) v = c.i32();
            else if (marked && op == TUPLE) break;
            else if (!marked && op >= TUPLE1 && op <= TUPLE3 && op - TUPLE1 + 1 == rank) break;
            else return FAIL;
            if (c.pos < 0 || rank == MAX_RANK) return FAIL;
            d[rank++] = v;
            pushes++;
        }
        if (rank == 0) return FAIL;
        pushes++; // the dims tuple
        if (!memoize(c, memoCount, memo) || c.op() != TUPLE1) return FAIL;
        pushes++;
        if (!memoize(c, memoCount, memo) || c.op() != REDUCE) return FAIL;
        pushes++;
        if (!memoize(c, memoCount, memo)) return FAIL;
        kinds[slot] = Kind.SIZE;
        ranks[slot] = rank;
        return SET;
    }

    private boolean memoize(Cursor c, long memoCount, Memo memo) {
        return memoize(c, memoCount, memo, null);
    }

    /** A MEMOIZE whose value is dropped (keep null: it must never be read back) or kept. */
    private boolean memoize(Cursor c, long memoCount, Memo memo, Object keep) {
        if (c.op() != MEMOIZE || memoized == memoValues.length) return false;
        long index = memoCount + memoized;
        if (keep == null ? !memo.droppable(index) : !memo.fresh(index)) return false;
        memoValues[memoized++] = keep;
        return true;
    }

    /** Bounds-checked reads; a read past the end sets pos to -1 (and ends the scan). */
    private static final class Cursor {
        MemorySegment seg;
        long pos;
        long size;

        Cursor reset(MemorySegment seg, long pos, long size) {
            this.seg = seg;
            this.pos = pos;
            this.size = size;
            return this;
        }

        boolean has(long n) {
            return pos >= 0 && n <= size - pos;
        }

        int op() {
            if (!has(1)) {
                pos = -1;
                return -1;
            }
            return seg.get(ValueLayout.JAVA_BYTE, pos++) & 0xFF;
        }

        int peek() {
            return has(1) ? seg.get(ValueLayout.JAVA_BYTE, pos) & 0xFF : -1;
        }

        void back() {
            pos--;
        }

        int u8() {
            return op();
        }

        int u16() {
            if (!has(2)) return fail();
            int v = (seg.get(ValueLayout.JAVA_BYTE, pos) & 0xFF) | (seg.get(ValueLayout.JAVA_BYTE, pos + 1) & 0xFF) << 8;
            pos += 2;
            return v;
        }

        int i32() {
            if (!has(4)) return fail();
            int v = (int) signedLittleEndian(4);
            return v;
        }

        long u32() {
            return i32() & 0xFFFF_FFFFL;
        }

        /** n ≤ 8 bytes, two's complement little-endian; the caller checked they are there. */
        long signedLittleEndian(int n) {
            long v = 0;
            for (int i = n - 1; i >= 0; i--) v = (v << 8) | (seg.get(ValueLayout.JAVA_BYTE, pos + i) & 0xFF);
            pos += n;
            int unused = 64 - 8 * n;
            return (v << unused) >> unused;
        }

        String utf8(int n) {
            byte[] b = new byte[n];
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, b, 0, n);
            pos += n;
            return new String(b, StandardCharsets.UTF_8);
        }

        private int fail() {
            pos = -1;
            return 0;
        }
    }
}
