package ckpt.format.pickle;

import static ckpt.format.pickle.Opcodes.*;

import ckpt.format.FormatException;
import ckpt.format.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A pickle reader that never executes anything: an iterative stack machine (FORMATS.md §1) that turns a pickle into
 * the inert value model of this package. Globals are names; a few well-known callables are interpreted
 * ({@link BuiltinReducers}, plus any registered with {@link Builder#reducer}); every other REDUCE/NEWOBJ becomes a
 * {@link PyObject}. Every length, index and nesting level is checked against the input and {@link PickleLimits}, so
 * hostile input ends in a one-line {@link PickleException} naming the file, the byte offset and the opcode.
 * Instances are immutable and may be shared between threads.
 */
public final class PickleReader {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_BE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final int HIGHEST_PROTOCOL = 5;
    private static final Reducer NO_REDUCER = args -> null;

    private final Path file;
    private final String record;
    private final PickleLimits limits;
    private final PersistentLoader persistentLoader;
    private final Map<PyGlobal, Reducer> reducers;
    private final boolean shareEqualValues;
    private final boolean memoOnlyWhatIsRead;
    private final boolean guessMemoReads;
    private final ItemSink itemSink;

    private PickleReader(Builder b) {
        this.file = b.file;
        this.record = b.record;
        this.limits = b.limits;
        this.persistentLoader = b.persistentLoader;
        this.reducers = Map.copyOf(b.reducers);
        this.shareEqualValues = b.shareEqualValues;
        this.memoOnlyWhatIsRead = b.memoOnlyWhatIsRead;
        this.itemSink = b.itemSink;
        this.guessMemoReads = b.guessMemoReads;
    }

    /**
     * A read with {@link Builder#guessMemoReads} met a memo entry it had dropped, or kept too many: nothing is wrong
     * with the pickle; read it again with {@link Builder#memoOnlyWhatIsRead}.
     */
    public static final class GuessMissed extends RuntimeException {
        GuessMissed(String why) {
            super(why, null, false, false);
        }
    }

    /** Memo entries a guessing read keeps before it gives up (the generic values of a 405B .metadata: ~0.1 M). */
    static final int GUESS_MAX_KEPT = 1 << 20;

    public static Builder builder() {
        return new Builder();
    }

    public static final class Builder {
        private Path file;
        private String record;
        private PickleLimits limits = PickleLimits.DEFAULT;
        private PersistentLoader persistentLoader;
        private final Map<PyGlobal, Reducer> reducers = new HashMap<>();
        private boolean shareEqualValues;
        private boolean memoOnlyWhatIsRead;
        private boolean guessMemoReads;
        private ItemSink itemSink;

        private Builder() {
            BuiltinReducers.registerAll(reducers);
        }

        /** The file the pickle comes from; named in every error message. */
        public Builder file(Path file) {
            this.file = file;
            return this;
        }

        /**
         * The pickle's name inside its file when it is one record of it ({@code archive/data.pkl} of a torch.save
         * zip), so that an offset in a message says what it counts from; null (the default) when the pickle is the
         * whole file or starts at a file offset.
         */
        public Builder record(String record) {
            this.record = record;
            return this;
        }

        public Builder limits(PickleLimits limits) {
            this.limits = java.util.Objects.requireNonNull(limits);
            return this;
        }

        /** Resolves BINPERSID ids; without one, a persistent id is an error. */
        public Builder persistentLoader(PersistentLoader loader) {
            this.persistentLoader = loader;
            return this;
        }

        /**
         * Interprets {@code module.name} (after Python 2 renaming) when REDUCE, NEWOBJ, INST or OBJ applies it;
         * replaces a built-in interpretation of the same global.
         */
        public Builder reducer(String module, String name, Reducer reducer) {
            reducers.put(new PyGlobal(module, name), java.util.Objects.requireNonNull(reducer));
            return this;
        }

        /**
         * Shares equal small tuples and {@code torch.Size}s within a read ({@link ValueInterner}). For readers that
         * only look at values (DCP {@code .metadata}); off by default, because identity shows when the value
         * graph is written back (a re-pickled shared tuple becomes a memo reference).
         */
        public Builder shareEqualValues(boolean share) {
            this.shareEqualValues = share;
            return this;
        }

        /**
         * Keeps in the memo only the entries the pickle reads back ({@link MemoReads}: one extra pass over the
         * opcodes). For large pickles whose memo would otherwise hold every object (protocol 4 memoizes all);
         * results, errors and limits are the same as without it.
         */
        public Builder memoOnlyWhatIsRead(boolean only) {
            this.memoOnlyWhatIsRead = only;
            return this;
        }

        /**
         * Like {@link #memoOnlyWhatIsRead} without its scan: keeps every memo entry except those made inside record
         * states read as {@link FieldState}, which picklers do not reference again. If the pickle does read one back
         * (or keeps very many entries), the read stops with {@link GuessMissed}; the caller then reads again with
         * {@link #memoOnlyWhatIsRead}, which handles any stream. Saves the scan's pass over a large DCP
         * {@code .metadata}.
         */
        public Builder guessMemoReads(boolean guess) {
            this.guessMemoReads = guess;
            return this;
        }

        /** Offers every dict item and list append to {@code sink} first ({@link ItemSink}); null for none. */
        public Builder itemSink(ItemSink sink) {
            this.itemSink = sink;
            return this;
        }

        public PickleReader build() {
            return new PickleReader(this);
        }
    }

    /** A value and the offset just after its STOP opcode. */
    public record Result(Object value, long end) {}

    /** Reads one pickle starting at byte 0 of data up to and including STOP. */
    public Object read(MemorySegment data) {
        return readAt(data, 0).value();
    }

    public Object read(byte[] data) {
        return read(MemorySegment.ofArray(data));
    }

    /** Reads one pickle starting at {@code offset} (legacy torch.save files are several pickles back to back). */
    public Result readAt(MemorySegment data, long offset) {
        if (offset < 0 || offset > data.byteSize()) {
            throw new PickleException(file, offset, "pickle start is outside the " + data.byteSize() + " bytes of data");
        }
        return new Machine(data, offset).run();
    }

    /** State of one read: operand stack with MARK positions, memo, and the cursor. */
    private final class Machine {
        private static final Object UNSET = new Object();
        private static final Object CONSUMED = new Object();

        /** Opcodes per call of {@link #batch}: few enough that calls, not loop turns, make it hot. */
        private static final int BATCH = 32;

        private final MemorySegment seg;
        private final long size;
        private long pos;
        private long opPos;
        private int op;
        private int protocol;
        private long pushes;

        private Object[] stack = new Object[64];
        private int sp;
        /** Stack heights at each open MARK; the top one is the fence nothing may pop below. */
        private int[] marks = new int[16];
        private int mp;

        private final byte[] scratch = new byte[256];
        /** Shares equal small immutable values, so a memo that keeps every tuple alive keeps each value once. */
        private final ValueInterner interner = shareEqualValues ? new ValueInterner() : null;
        private final Map<PyGlobal, Reducer> reducerCache = new java.util.IdentityHashMap<>();
        /** Tuple keys already found hashable and shallow enough (identity), so a memoized key is walked once. */
        private final java.util.Set<PyTuple> checkedKeys = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        private Object[] memo = new Object[256];
        private Map<Long, Object> sparseMemo;
        private long memoCount;
        /** Memo indices the pickle reads back, each with its slot in the memo array, or null to keep every entry. */
        private final MemoReads.Slots reads;
        /** Keeping every entry but those of record states, without a scan ({@link Builder#guessMemoReads}). */
        private final boolean guessing;
        /** Reads record states without making them; only while the memo is pruned and MEMOIZE indices count up. */
        private FieldState fieldState;
        /** Indices assigned but not kept (never read back), so memoCount counts each index once as CPython's dict does. */
        private long[] dropped;

        Machine(MemorySegment seg, long start) {
            this.seg = seg;
            this.size = seg.byteSize();
            this.pos = start;
            Arrays.fill(memo, UNSET);
            this.guessing = guessMemoReads && !memoOnlyWhatIsRead && interner == null;
            this.reads = guessing ? MemoReads.Slots.growing()
                    : memoOnlyWhatIsRead ? MemoReads.scan(seg, start, limits.maxMemoEntries()) : null;
            this.dropped = reads == null ? null : new long[1024];
            // FieldState takes strings up to MAX_STRING without looking at limits: only where no limit is lower
            if (reads != null && interner == null && limits.maxLength() >= FieldState.MAX_STRING) fieldState = new FieldState();
            if (reads != null) {
                memo = new Object[Math.max(reads.count(), guessing ? 256 : 0)];
                Arrays.fill(memo, UNSET);
            }
        }

        Result run() {
            try {
                return loop();
            } catch (GuessMissed e) {
                throw e;
            } catch (FormatException e) {
                throw e;
            } catch (StackOverflowError e) {
                throw fail("pickle exceeds ckpt's limits: objects nested too deeply to process");
            } catch (RuntimeException e) {
                // e.g. an arithmetic overflow on a hostile value: say what failed, without Java's class names (the
                // JDK's messages of other exceptions name classes: "class java.lang.Long cannot be cast to …")
                String why = e instanceof IllegalArgumentException || e instanceof ArithmeticException ? e.getMessage() : null;
                throw new PickleException(file, opPos, "corrupt pickle" + (why == null ? "" : ": " + why)
                        + " (" + Opcodes.detail(op) + ")", e);
            }
        }

        private Result loop() {
            Result r;
            do r = batch(); while (r == null);
            return r;
        }

        /**
         * Up to {@link #BATCH} opcodes; the result once STOP is read, else null. A large pickle is one call of
         * {@link #loop} but ~10^6 calls of this, so the optimizing compiler compiles it as an ordinary method when
         * it is called often enough, from its profile so far, instead of one on-stack replacement of a loop that runs
         * over the whole file; {@code DcpMetadataReader} primes that profile with every record kind first.
         */
        private Result batch() {
            for (int left = BATCH; left > 0; left--) {
                opPos = pos;
                if (pos >= size) {
                    op = STOP;
                    throw new PickleException(file, pos, "truncated pickle: the data ends before the pickle does (no STOP)");
                }
                op = seg.get(ValueLayout.JAVA_BYTE, pos++) & 0xFF;
                switch (op) {
                    case FRAME -> {
                        long n = u64();
                        if (n > size - pos) throw fail("truncated pickle: a frame of " + n + " bytes runs past the end of the data (" + (size - pos) + " bytes left)");
                    }
                    case STOP -> {
                        Object v = pop();
                        return new Result(v, pos);
                    }
                    case MARK -> mark();
                    case NONE -> push(null);
                    case NEWTRUE -> push(Boolean.TRUE);
                    case NEWFALSE -> push(Boolean.FALSE);
                    case BININT -> push((long) i32());
                    case BININT1 -> push((long) u8());
                    case BININT2 -> push((long) u16());
                    case BINUNICODE -> push(utf8(u32()));
                    case SHORT_BINUNICODE -> push(utf8(u8()));
                    case EMPTY_LIST -> push(new ArrayList<>());
                    case APPEND -> {
                        Object v = pop();
                        appendTo(peek(), v);
                    }
                    case APPENDS -> {
                        int m = popMark();
                        Object target = below(m);
                        for (int i = m; i < sp; i++) appendTo(target, stack[i]);
                        truncateTo(m);
                    }
                    case EMPTY_TUPLE -> push(PyTuple.EMPTY);
                    case TUPLE -> {
                        int m = popMark();
                        PyTuple t = tupleOf(m, sp);
                        truncateTo(m);
                        push(t);
                    }
                    case TUPLE1, TUPLE2, TUPLE3 -> {
                        int n = op - TUPLE1 + 1;
                        if (sp - fence() < n) throw fail("corrupt pickle: an instruction needs " + n + " values that are not there");
                        PyTuple t = tupleOf(sp - n, sp);
                        truncateTo(sp - n);
                        push(t);
                    }
                    case EMPTY_DICT -> push(new PyDict());
                    case SETITEM -> {
                        Object v = pop();
                        Object k = pop();
                        setItem(peek(), k, v);
                    }
                    case SETITEMS -> {
                        int m = popMark();
                        if ((sp - m) % 2 != 0) throw fail("corrupt pickle: a dict is given an odd number of keys and values");
                        Object target = below(m);
                        for (int i = m; i < sp; i += 2) setItem(target, stack[i], stack[i + 1]);
                        truncateTo(m);
                    }
                    case BINPUT -> explicitPut(u8());
                    case LONG_BINPUT -> explicitPut(u32());
                    case MEMOIZE -> memoPut(memoCount);
                    case BINGET -> push(memoGet(u8()));
                    case LONG_BINGET -> push(memoGet(u32()));
                    case REDUCE -> {
                        Object args = pop();
                        Object callable = pop();
                        push(instantiate(callable, args, null, PyObject.Origin.REDUCE));
                    }
                    case NEWOBJ -> {
                        Object args = pop();
                        Object cls = pop();
                        Object made = instantiate(cls, args, null, PyObject.Origin.NEWOBJ);
                        push(made);
                        if (made instanceof FieldBuildable b && fieldState != null) buildFromFields(b);
                    }
                    case BUILD -> {
                        Object state = pop();
                        build(peek(), state);
                    }
                    case BINPERSID -> {
                        Object pid = pop();
                        if (persistentLoader == null) throw fail("corrupt pickle: a reference to stored data (persistent id " + ckpt.format.InputText.excerpt(PyRepr.repr(pid)) + ") where none is expected");
                        push(loadPersistent(pid));
                    }
                    default -> rareOpcode();
                }
            }
            return null;
        }

        /**
         * The opcodes that are not on the hot path of the large pickles ckpt reads (DCP metadata, state dicts): kept
         * out of {@link #batch}, so the optimizing compiler compiles a small loop (a 405B-scale .metadata spent 2 s of
         * CPU recompiling one large one).
         */
        private void rareOpcode() {
            switch (op) {
                case PROTO -> {
                    int v = u8();
                    if (v > HIGHEST_PROTOCOL) throw fail("unsupported pickle feature: protocol " + v + " (ckpt reads protocols up to " + HIGHEST_PROTOCOL + ")");
                    protocol = v;
                }
                case POP -> {
                    if (sp > fence()) stack[--sp] = null;
                    else popMark(); // CPython: POP on an empty frame discards the MARK itself
                }
                case POP_MARK -> truncateTo(popMark());
                case DUP -> push(peek());
                case INT -> {
                    String line = asciiLine();
                    if (line.equals("00")) push(Boolean.FALSE);
                    else if (line.equals("01")) push(Boolean.TRUE);
                    else push(PickleText.parseInt(line));
                }
                case LONG -> push(PickleText.parseInt(asciiLine()));
                case LONG1 -> push(longBytes(u8()));
                case LONG4 -> push(longBytes(length(i32())));
                case FLOAT -> push(PickleText.parseFloat(asciiLine()));
                case BINFLOAT -> {
                    need(8);
                    double d = Double.longBitsToDouble(seg.get(I64_BE, pos));
                    pos += 8;
                    push(d);
                }
                // Python 2 str: decoded as UTF-8, which is what torch.load does for legacy files.
                case STRING -> push(new String(PickleText.unquoteString(line()), StandardCharsets.UTF_8));
                case BINSTRING -> push(new String(bytes(length(i32())), StandardCharsets.UTF_8));
                case SHORT_BINSTRING -> push(new String(bytes(u8()), StandardCharsets.UTF_8));
                case UNICODE -> push(PickleText.rawUnicodeEscape(line()));
                case BINUNICODE8 -> push(utf8(u64()));
                case SHORT_BINBYTES -> push(new PyBytes(bytes(u8())));
                case BINBYTES -> push(new PyBytes(bytes(u32())));
                case BINBYTES8 -> push(new PyBytes(bytes(u64())));
                case BYTEARRAY8 -> push(new PyBytes(bytes(u64()), true));
                case LIST -> {
                    int m = popMark();
                    ArrayList<Object> list = new ArrayList<>(Arrays.asList(stack).subList(m, sp));
                    truncateTo(m);
                    push(list);
                }
                case DICT -> {
                    int m = popMark();
                    if ((sp - m) % 2 != 0) throw fail("corrupt pickle: a dict is given an odd number of keys and values");
                    PyDict d = new PyDict();
                    for (int i = m; i < sp; i += 2) setItem(d, stack[i], stack[i + 1]);
                    truncateTo(m);
                    push(d);
                }
                case EMPTY_SET -> push(new PySet(false));
                case ADDITEMS -> {
                    int m = popMark();
                    if (!(below(m) instanceof PySet set) || set.frozen()) throw fail("corrupt pickle: adds set items to a " + typeName(below(m)) + ", not a set");
                    for (int i = m; i < sp; i++) set.items().add(stack[i]);
                    truncateTo(m);
                }
                case FROZENSET -> {
                    int m = popMark();
                    PySet set = new PySet(true);
                    set.items().addAll(Arrays.asList(stack).subList(m, sp));
                    truncateTo(m);
                    push(set);
                }
                case PUT -> explicitPut(memoIndex(asciiLine()));
                case GET -> push(memoGet(memoIndex(asciiLine())));
                case GLOBAL -> {
                    String module = strictLine(StandardCharsets.UTF_8);
                    String name = strictLine(StandardCharsets.UTF_8);
                    push(global(module, name));
                }
                case STACK_GLOBAL -> {
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) throw fail("corrupt pickle: a class's module and name are not text");
                    push(global(m, n));
                }
                case NEWOBJ_EX -> {
                    Object kwargs = pop();
                    Object args = pop();
                    Object cls = pop();
                    if (!(kwargs instanceof PyDict kw)) throw fail("corrupt pickle: keyword arguments are a " + typeName(kwargs) + ", not a dict");
                    push(instantiate(cls, args, kw, PyObject.Origin.NEWOBJ));
                }
                case INST -> {
                    String module = strictLine(StandardCharsets.US_ASCII); // Python decodes INST names as ASCII
                    String name = strictLine(StandardCharsets.US_ASCII);
                    Object cls = global(module, name);
                    int m = popMark();
                    PyTuple args = tupleOf(m, sp);
                    truncateTo(m);
                    push(instantiate(cls, args, null, PyObject.Origin.INST));
                }
                case OBJ -> {
                    int m = popMark();
                    if (sp == m) throw fail("corrupt pickle: an object is built without a class");
                    Object cls = stack[m];
                    PyTuple args = tupleOf(m + 1, sp);
                    truncateTo(m);
                    push(instantiate(cls, args, null, PyObject.Origin.INST));
                }
                case PERSID, EXT1, EXT2, EXT4, NEXT_BUFFER, READONLY_BUFFER -> throw fail("unsupported pickle feature: one that torch.save never writes");
                default -> throw fail("corrupt pickle: a byte that is not a pickle instruction");
            }
        }

        // ---- errors ----

        private PickleException fail(String message) {
            // what is wrong in the user's terms first; the opcode only as a detail for whoever debugs the writer
            return new PickleException(file, opPos, message + " (" + Opcodes.detail(op) + ")");
        }

        // ---- stack ----

        private int fence() {
            return mp == 0 ? 0 : marks[mp - 1];
        }

        private void push(Object v) {
            if (sp + mp >= limits.maxDepth()) throw fail("pickle exceeds ckpt's limits: values nested deeper than the limit of " + limits.maxDepth());
            if (++pushes > limits.maxTotalObjects()) throw fail("pickle exceeds ckpt's limits: more than " + limits.maxTotalObjects() + " values");
            if (sp == stack.length) stack = Arrays.copyOf(stack, Math.min(stack.length * 2, limits.maxDepth() + 1));
            stack[sp++] = v;
        }

        private Object pop() {
            if (sp <= fence()) throw fail(sp == 0 ? "corrupt pickle: a value is missing (the stack is empty)" : "corrupt pickle: a value is missing (stack underflow: nothing above the MARK)");
            Object v = stack[--sp];
            stack[sp] = null;
            return v;
        }

        private Object peek() {
            if (sp <= fence()) throw fail(sp == 0 ? "corrupt pickle: a value is missing (the stack is empty)" : "corrupt pickle: a value is missing (stack underflow: nothing above the MARK)");
            return stack[sp - 1];
        }

        private void mark() {
            if (sp + mp >= limits.maxDepth()) throw fail("pickle exceeds ckpt's limits: containers nested deeper than the limit of " + limits.maxDepth());
            if (mp == marks.length) marks = Arrays.copyOf(marks, Math.min(marks.length * 2, limits.maxDepth() + 1));
            marks[mp++] = sp;
        }

        /** Closes the top MARK; the values above it are stack[result .. sp). */
        private int popMark() {
            if (mp == 0) throw fail("corrupt pickle: a container ends that never began (no MARK)");
            return marks[--mp];
        }

        private void truncateTo(int height) {
            Arrays.fill(stack, height, sp, null);
            sp = height;
        }

        /** The container just below a MARK that was just closed at height m. */
        private Object below(int m) {
            if (m - 1 < fence()) throw fail("corrupt pickle: items without a container to go into (nothing below the MARK)");
            return stack[m - 1];
        }

        private PyTuple tupleOf(int from, int to) {
            if (from == to) return PyTuple.EMPTY;
            if (interner != null && interner.internable(stack, from, to))
                return interner.tuple(stack, from, to);
            return PyTuple.copyOf(stack, from, to);
        }

        // ---- memo ----

        private long memoIndex(String line) {
            Object v;
            try {
                v = PickleText.parseInt(line);
            } catch (IllegalArgumentException e) {
                throw fail("corrupt pickle: a back-reference index (memo index '" + ckpt.format.InputText.excerpt(line) + "') is not a number");
            }
            if (!(v instanceof Long l) || l < 0) throw fail("corrupt pickle: a back-reference index is out of range (memo index " + ckpt.format.InputText.excerpt(PyRepr.repr(v)) + ")");
            return l;
        }

        /** PUT, BINPUT, LONG_BINPUT: an index of the stream's choosing, after which MEMOIZE indices may repeat. */
        private void explicitPut(long index) {
            // record states are no longer read whole, so a guessing read would keep every entry: scan instead
            if (guessing) throw new GuessMissed("an explicit PUT: the stream numbers its own memo entries");
            fieldState = null;
            memoPut(index);
        }

        /**
         * Builds the record just made by NEWOBJ from its state read straight from the opcodes ({@link FieldState}),
         * when the span has the plain shape and the record takes it; otherwise nothing happens and the loop reads
         * the span opcode by opcode.
         */
        private void buildFromFields(FieldBuildable target) {
            if (sp + mp + 32 >= limits.maxDepth()) return;
            long end = fieldState.scan(seg, pos, memoCount, fieldMemo);
            if (end < 0 || pushes + fieldState.pushes > limits.maxTotalObjects()) return;
            boolean built;
            try {
                built = target.build(fieldState);
            } catch (RuntimeException e) {
                return; // the generic BUILD reports it, at its opcode
            }
            if (!built) return;
            for (int k = 0; k < fieldState.memoized; k++) {
                Object keep = fieldState.memoValues[k];
                if (keep == null) dropMemo(memoCount);
                else memoStore(memoCount, keep);
                fieldState.memoValues[k] = null;
            }
            pushes += fieldState.pushes;
            pos = end;
        }

        /** The memo as {@link FieldState} may read it: the values a GET would give, and which MEMOIZE may be dropped. */
        private final FieldState.Memo fieldMemo = new FieldState.Memo() {
            @Override
            public Object get(long index) {
                if (index >= limits.maxMemoEntries()) return null;
                int s = reads.slotOf(index);
                if (s < 0) return null;
                Object v = memo[s];
                return v == UNSET || v == CONSUMED ? null : v;
            }

            @Override
            public boolean droppable(long index) {
                if (index >= limits.maxMemoEntries()) return false;
                if (guessing) return true; // a MEMOIZE index with no explicit PUT before is new
                if (reads.isRead(index)) return false;
                int w = (int) (index >>> 6);
                return w >= dropped.length || (dropped[w] & (1L << index)) == 0;
            }

            @Override
            public boolean fresh(long index) {
                if (index >= limits.maxMemoEntries()) return false;
                if (guessing) return true;
                int s = reads.slotOf(index); // a slot is there for an index read back, assigned or not
                return s >= 0 ? memo[s] == UNSET : !isDropped((int) index);
            }

            @Override
            public boolean isTorchSize(Object g) {
                return g instanceof PyGlobal global && reducerOf(global) == BuiltinReducers.TORCH_SIZE;
            }
        };

        /** A guessing read's new slot for index i. */
        private int keep(int i) {
            if (reads.count() >= GUESS_MAX_KEPT) throw new GuessMissed("more than " + GUESS_MAX_KEPT + " memo entries kept");
            int s = reads.add(i);
            if (s >= memo.length) {
                int old = memo.length;
                memo = Arrays.copyOf(memo, old * 2);
                Arrays.fill(memo, old, memo.length, UNSET);
            }
            return s;
        }

        private boolean isDropped(int i) {
            int w = i >>> 6;
            return w < dropped.length && (dropped[w] & (1L << i)) != 0;
        }

        /** Counts a memo index never read back, without keeping its value. */
        private void dropMemo(long index) {
            int i = (int) index;
            int w = i >>> 6;
            if (w >= dropped.length) dropped = Arrays.copyOf(dropped, Math.max(w + 1, dropped.length * 2));
            if ((dropped[w] & (1L << i)) == 0) {
                dropped[w] |= 1L << i;
                memoCount++;
            }
        }

        private void memoPut(long index) {
            if (index >= limits.maxMemoEntries()) throw fail("pickle exceeds ckpt's limits: memo index " + index + " exceeds the limit of " + limits.maxMemoEntries());
            memoStore(index, peek());
        }

        /** Memo entry {@code index} (below the limit) set to {@code top}, or only counted where it is never read. */
        private void memoStore(long index, Object top) {
            int i = (int) index;
            if (reads != null) {
                int s = reads.isRead(i) ? reads.slotOf(i) : -1;
                if (s < 0 && guessing && !isDropped(i)) s = keep(i);
                if (s < 0) { // never read back: only counted (a bit per index; i < maxMemoEntries bounds the words)
                    dropMemo(i);
                    return;
                }
                if (memo[s] == UNSET) memoCount++;
                memo[s] = top;
                if (top instanceof PyDict d) d.memoSlot = s;
                return;
            }
            if (i >= memo.length) {
                // Dense indices (what picklers write) grow the array; a far jump goes to a map, so one hostile
                // index cannot make us allocate a huge array.
                if (i < memo.length * 2L + 1024) {
                    int old = memo.length;
                    memo = Arrays.copyOf(memo, (int) Math.min(Math.max(i + 1L, old * 2L), limits.maxMemoEntries()));
                    Arrays.fill(memo, old, memo.length, UNSET);
                } else {
                    if (sparseMemo == null) sparseMemo = new HashMap<>();
                    if (sparseMemo.put(index, top) == null) memoCount++;
                    return;
                }
            }
            if (memo[i] == UNSET) memoCount++;
            memo[i] = top;
            if (top instanceof PyDict d) d.memoSlot = i;
        }

        private Object memoGet(long index) {
            if (reads != null) {
                int s = index < limits.maxMemoEntries() ? reads.slotOf(index) : -1;
                if (s >= 0 && memo[s] == CONSUMED)
                    throw fail("unsupported pickle feature: an object's state is referred to again after it was used (memo entry " + index + ")");
                if (s >= 0 && memo[s] != UNSET) return memo[s];
                if (guessing && index < limits.maxMemoEntries() && isDropped((int) index))
                    throw new GuessMissed("memo entry " + index + " of a record state is read back");
                throw fail("corrupt pickle: refers back to a value that was never stored (memo has no entry " + index + ")");
            }
            if (index < memo.length && memo[(int) index] == CONSUMED)
                throw fail("unsupported pickle feature: an object's state is referred to again after it was used (memo entry " + index + ")");
            if (index < memo.length && memo[(int) index] != UNSET) return memo[(int) index];
            if (sparseMemo != null && sparseMemo.containsKey(index)) return sparseMemo.get(index);
            throw fail("corrupt pickle: refers back to a value that was never stored (memo has no entry " + index + ")");
        }

        // ---- containers ----

        @SuppressWarnings("unchecked")
        private void appendTo(Object target, Object v) {
            if (target instanceof ArrayList<?> list) {
                if (itemSink == null || !itemSink.append(list, v)) ((ArrayList<Object>) list).add(v);
            }
            else if (target instanceof PyObject o) o.listItems().add(v);
            else throw fail("corrupt pickle: cannot append to a " + typeName(target) + ", not a list");
        }

        private void setItem(Object target, Object key, Object value) {
            checkHashable(key);
            if (target instanceof PyDict d) {
                if (itemSink != null && itemSink.setItem(d, d.sunk, key, value)) d.sunk = true;
                else d.put(key, value);
            }
            else if (target instanceof PyObject o) o.dictItems().put(key, value);
            else throw fail("corrupt pickle: cannot set an item on a " + typeName(target) + ", not a dict");
        }

        /**
         * Python refuses unhashable keys; we also bound how deep a tuple key nests, because Java hashes records
         * recursively.
         */
        private void checkHashable(Object key) {
            if (key instanceof String || key instanceof PyObject || key instanceof Long) return; // the usual keys
            if (!(key instanceof PyTuple root)) {
                if (unhashable(key)) throw fail("corrupt pickle: a " + typeName(key) + " as a dict key (unhashable)");
                return;
            }
            if (checkedKeys.contains(root)) return;
            ArrayDeque<PyTuple> todo = new ArrayDeque<>();
            ArrayDeque<Integer> depths = new ArrayDeque<>();
            todo.push(root);
            depths.push(1);
            while (!todo.isEmpty()) {
                PyTuple t = todo.pop();
                int depth = depths.pop();
                if (depth > 1000) throw fail("pickle exceeds ckpt's limits: a dict key nested deeper than 1000");
                for (Object item : t.items()) {
                    if (unhashable(item)) throw fail("unhashable dict key containing a " + typeName(item));
                    if (item instanceof PyTuple inner) {
                        todo.push(inner);
                        depths.push(depth + 1);
                    }
                }
            }
            checkedKeys.add(root);
        }

        private static boolean unhashable(Object v) {
            return v instanceof List<?> || v instanceof PyDict || (v instanceof PySet s && !s.frozen())
                    || (v instanceof PyBytes b && b.mutable()) || v instanceof NumpyArray;
        }

        // ---- objects ----

        private Object global(String module, String name) {
            // STACK_GLOBAL's names come from string opcodes, decoded leniently: a replaced byte means invalid UTF-8
            if (module.indexOf('\uFFFD') >= 0 || name.indexOf('\uFFFD') >= 0)
                throw fail("corrupt pickle: a class name is not valid UTF-8 (Python's unpickler fails on it)");
            PyGlobal g = PythonNames.resolve(module, name, protocol);
            PickleAudit.record(file, record, g, Opcodes.describe(op), opPos);
            if (g.module().equals("torch") && !name.contains(".")) {
                Optional<DType> dtype = DType.fromTorchName(g.name());
                if (dtype.isPresent()) return dtype.get();
            }
            return g;
        }

        /**
         * The reducer of a class, looked up once per global instance: a memoized global is applied millions of
         * times in a large DCP {@code .metadata}, and hashing its two names each time was a measurable share.
         */
        private Reducer reducerOf(PyGlobal cls) {
            // the few classes a record stream applies in turn, by identity, before the map
            for (int i = 0; i < recentClasses.length; i++) {
                if (recentClasses[i] == cls) return recentReducers[i] == NO_REDUCER ? null : recentReducers[i];
            }
            Reducer r = reducerCache.get(cls);
            if (r == null) {
                r = reducers.getOrDefault(cls, NO_REDUCER);
                if (reducerCache.size() < 4096) reducerCache.put(cls, r);
            }
            int slot = recentNext++ & (recentClasses.length - 1);
            recentClasses[slot] = cls;
            recentReducers[slot] = r;
            return r == NO_REDUCER ? null : r;
        }

        private final PyGlobal[] recentClasses = new PyGlobal[4];
        private final Reducer[] recentReducers = new Reducer[4];
        private int recentNext;

        private Object instantiate(Object callable, Object argsValue, PyDict kwargs, PyObject.Origin origin) {
            PyGlobal cls;
            if (callable instanceof PyGlobal g) cls = g;
            else if (callable instanceof DType d) cls = new PyGlobal("torch", d.torchName());
            else throw fail("corrupt pickle: calls a " + typeName(callable) + ", not a class or function");
            PyTuple args;
            if (argsValue instanceof PyTuple t) args = t;
            else if (argsValue instanceof List<?> l && origin == PyObject.Origin.REDUCE) args = new PyTuple(new ArrayList<>(l));
            else throw fail("corrupt pickle: the arguments of " + cls + " are a " + typeName(argsValue) + ", not a tuple");
            Reducer reducer = kwargs == null || kwargs.size() == 0 ? reducerOf(cls) : null;
            if (reducer == null) return new PyObject(cls, args, kwargs, origin);
            try {
                Object v = reducer.reduce(args);
                return interner != null && v instanceof TorchSize s ? interner.size(argsValue, s) : v;
            } catch (FormatException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new PickleException(file, opPos, "corrupt pickle: cannot rebuild " + cls + ": " + e.getMessage() + " (" + Opcodes.detail(op) + ")", e);
            }
        }

        private void build(Object target, Object state) {
            if (target instanceof Buildable b) {
                try {
                    b.build(state);
                    if (b.consumesState() && state instanceof PyDict d && d.memoSlot >= 0 && d.memoSlot < memo.length
                            && memo[d.memoSlot] == d) {
                        memo[d.memoSlot] = CONSUMED;
                    }
                } catch (FormatException e) {
                    throw e;
                } catch (RuntimeException e) {
                    throw new PickleException(file, opPos, "corrupt pickle: bad state for a " + typeName(target) + ": " + e.getMessage() + " (" + Opcodes.detail(op) + ")", e);
                }
            } else if (target instanceof PyObject o) {
                o.setState(state);
            } else if (target instanceof PyDict d) {
                d.setAttributes(state); // OrderedDict attributes such as _metadata, never items
            } else {
                throw fail("corrupt pickle: sets the state of a " + typeName(target) + ", which has none (cannot BUILD a " + typeName(target) + ")");
            }
        }

        private Object loadPersistent(Object pid) {
            try {
                return persistentLoader.load(pid);
            } catch (FormatException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new PickleException(file, opPos, "corrupt pickle: a reference to stored data is not valid: " + e.getMessage() + " (persistent id " + ckpt.format.InputText.excerpt(PyRepr.repr(pid)) + "; " + Opcodes.detail(op) + ")", e);
            }
        }

        // ---- raw reads; every one checks the bytes left ----

        private void need(long n) {
            if (n > size - pos) throw fail("truncated pickle: needs " + n + " more bytes, " + (size - pos) + " left");
        }

        private int u8() {
            need(1);
            return seg.get(ValueLayout.JAVA_BYTE, pos++) & 0xFF;
        }

        private int u16() {
            need(2);
            int v = seg.get(U16, pos) & 0xFFFF;
            pos += 2;
            return v;
        }

        private int i32() {
            need(4);
            int v = seg.get(I32, pos);
            pos += 4;
            return v;
        }

        private long u32() {
            return i32() & 0xFFFF_FFFFL;
        }

        private long u64() {
            need(8);
            long v = seg.get(I64, pos);
            pos += 8;
            return v; // negative means ≥ 2^63: rejected by length()
        }

        private long length(long n) {
            if (n < 0) throw fail("corrupt pickle: length " + (op == LONG4 || op == BINSTRING ? n : Long.toUnsignedString(n)) + " is invalid");
            return n;
        }

        /** n bytes of payload, checked against the input left and the length limit before allocating. */
        private byte[] bytes(long n) {
            if (n < 0 || n > size - pos) {
                throw fail("truncated or corrupt pickle: a value of length " + Long.toUnsignedString(n) + " exceeds the " + (size - pos) + " bytes left");
            }
            if (n > limits.maxLength()) throw fail("pickle exceeds ckpt's limits: a value of length " + n + " exceeds the limit of " + limits.maxLength());
            byte[] out = new byte[(int) n];
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, out, 0, (int) n);
            pos += n;
            return out;
        }

        /** Strings are decoded through one reused buffer: most are short keys and names. */
        private String utf8(long n) {
            if (n >= 0 && n <= scratch.length && n <= size - pos && n <= limits.maxLength()) {
                int len = (int) n;
                MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, scratch, 0, len);
                pos += len;
                return new String(scratch, 0, len, StandardCharsets.UTF_8);
            }
            return new String(bytes(n), StandardCharsets.UTF_8);
        }

        private Object longBytes(long n) {
            if (n == 0) return 0L;
            if (n <= 8 && n <= size - pos) { // two's complement little-endian, sign-extended from the top byte
                long v = 0;
                for (int i = (int) n - 1; i >= 0; i--) v = (v << 8) | (seg.get(ValueLayout.JAVA_BYTE, pos + i) & 0xFF);
                int unused = 64 - 8 * (int) n;
                pos += n;
                return (v << unused) >> unused;
            }
            byte[] le = bytes(n);
            byte[] be = new byte[le.length];
            for (int i = 0; i < le.length; i++) be[i] = le[le.length - 1 - i];
            return PickleText.normalize(new BigInteger(be));
        }

        /** Bytes up to (not including) the next newline, which is consumed. */
        private byte[] line() {
            long start = pos;
            long max = Math.min(size, start + limits.maxLength() + 1);
            for (long p = start; p < max; p++) {
                if (seg.get(ValueLayout.JAVA_BYTE, p) == '\n') {
                    byte[] out = new byte[(int) (p - start)];
                    MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, start, out, 0, out.length);
                    pos = p + 1;
                    return out;
                }
            }
            throw fail(max == size ? "truncated pickle: a text line has no newline before the end of the data" : "pickle exceeds ckpt's limits: a text line longer than the limit");
        }

        private String asciiLine() {
            return new String(line(), StandardCharsets.ISO_8859_1);
        }

        /** A name line decoded as Python's unpickler does; bytes it would reject are an error, not replaced. */
        private String strictLine(java.nio.charset.Charset cs) {
            byte[] b = line();
            try {
                return cs.newDecoder().decode(java.nio.ByteBuffer.wrap(b)).toString();
            } catch (java.nio.charset.CharacterCodingException e) {
                throw fail("corrupt pickle: a class name is not valid " + cs.name() + " (Python's unpickler fails on it)");
            }
        }
    }

    /** Python-ish type name of a value, for messages. */
    static String typeName(Object v) {
        return PyRepr.typeName(v);
    }
}
