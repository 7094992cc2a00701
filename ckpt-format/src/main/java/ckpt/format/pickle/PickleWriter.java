package ckpt.format.pickle;

import static ckpt.format.pickle.Opcodes.*;

import ckpt.format.tensor.DType;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Writes protocol-2 pickles using only the opcodes {@code torch.load(weights_only=True)} accepts (FORMATS.md §1.8):
 * no FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE or LONG4. Values are laid out the way CPython's pickler lays
 * them out for protocol 2 (memo indices included), so simple values come out byte-identical to
 * {@code pickle.dumps(v, protocol=2)}.
 *
 * <p>Memo: containers, tuples and bytes are memoized by identity (a Java object written twice becomes a BINGET, as
 * with Python objects); strings and globals by value, which Python cannot tell apart from identity.
 *
 * <p>Protocol 4 ({@link #PickleWriter(OutputStream, int)}) is for pickles that plain {@code pickle.load} reads, such
 * as DCP {@code .metadata} (FORMATS.md §1.1, §3.9), never for {@code torch.load(weights_only=True)}: strings shorter
 * than 256 bytes become SHORT_BINUNICODE, globals STACK_GLOBAL, memo entries MEMOIZE, bytes SHORT_BINBYTES/BINBYTES and
 * sets EMPTY_SET + ADDITEMS, as CPython writes them; names are not mapped to Python 2. No FRAMEs are written: framing
 * is only a read-ahead hint, and every unpickler accepts an unframed protocol-4 stream.
 *
 * <p>Errors: {@link IllegalArgumentException} for a value it cannot write, {@link UncheckedIOException} for the
 * stream. Output is buffered; {@link #stop()} and {@link #flush()} push it to the stream.
 */
public final class PickleWriter {
    /** Batch size of APPENDS / SETITEMS, as CPython's {@code _BATCHSIZE}. */
    private static final int BATCH = 1000;
    private static final PyGlobal CODECS_ENCODE = new PyGlobal("_codecs", "encode");

    /** Writes values {@link #write} does not know (tensor records, …) with the low-level calls; false = not mine. */
    @FunctionalInterface
    public interface ObjectWriter {
        boolean write(PickleWriter writer, Object value);
    }

    private final OutputStream out;
    private final int protocol;
    private final byte[] buf = new byte[1 << 16];
    private int count;
    private int memoSize;
    private final Map<Object, Integer> valueMemo = new HashMap<>();
    private final Map<Object, Integer> identityMemo = new IdentityHashMap<>();
    private ObjectWriter objectWriter;

    /** A protocol-2 writer (torch-loadable subset). */
    public PickleWriter(OutputStream out) {
        this(out, 2);
    }

    /** @param protocol 2 (torch-loadable subset) or 4 (CPython's protocol-4 opcodes, for plain {@code pickle.load}) */
    public PickleWriter(OutputStream out, int protocol) {
        if (protocol != 2 && protocol != 4) throw new IllegalArgumentException("protocol " + protocol + " is not supported (2 or 4)");
        this.out = java.util.Objects.requireNonNull(out);
        this.protocol = protocol;
    }

    public int protocol() {
        return protocol;
    }

    /** Consulted first for every non-null value; return false to let the built-in rules write it. */
    public PickleWriter objectWriter(ObjectWriter objectWriter) {
        this.objectWriter = objectWriter;
        return this;
    }

    // ---- framing ----

    /** {@code PROTO 2} or {@code PROTO 4}. */
    public void proto() {
        op(PROTO);
        op(protocol);
    }

    /** {@code STOP}, then flushes to the stream. */
    public void stop() {
        op(STOP);
        flush();
    }

    public void flush() {
        try {
            out.write(buf, 0, count);
            count = 0;
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- values ----

    /**
     * Writes one value: null, Boolean, Byte/Short/Integer/Long/BigInteger, Float/Double, String, PyBytes, List,
     * PyTuple, Map / PyDict (an OrderedDict, or another mapping type, as {@code REDUCE(type, ())} + SETITEMS
     * [+ BUILD attributes]), PySet, TorchSize, DType, PyGlobal and PyObject (REDUCE or NEWOBJ of its class, then
     * its list items, dict items and BUILD state).
     */
    public void write(Object value) {
        if (value == null) {
            none();
            return;
        }
        if (objectWriter != null && objectWriter.write(this, value)) return;
        switch (value) {
            case Boolean b -> bool(b);
            case Long l -> int_(l);
            case Integer i -> int_(i);
            case Short s -> int_(s);
            case Byte b -> int_(b);
            case BigInteger b -> int_(b);
            case Double d -> float_(d);
            case Float f -> float_(f);
            case String s -> {
                if (writeMemoizedValue(s)) return;
                string(s);
                memoizeValue(s);
            }
            case DType d -> global_("torch", d.torchName());
            case PyGlobal g -> {
                PyGlobal named = protocol < 3 ? PythonNames.toPython2(g) : g;
                global_(named.module(), named.name());
            }
            case PyTuple t -> writeTuple(t);
            default -> {
                if (writeMemoized(value)) return;
                writeContainer(value);
            }
        }
    }

    private void writeContainer(Object value) {
        switch (value) {
            case PyBytes b -> writeBytes(b);
            case List<?> list -> {
                emptyList();
                memoize(list);
                writeAppends(list);
            }
            case PyDict d when d.type() == null -> {
                emptyDict();
                memoize(d);
                writeSetItems(d.items());
            }
            case PyDict d -> {
                write(d.type());
                emptyTuple();
                reduce();
                memoize(d);
                writeSetItems(d.items());
                if (d.attributes() != null) {
                    write(d.attributes());
                    build();
                }
            }
            case Map<?, ?> m -> {
                emptyDict();
                memoize(m);
                writeSetItems(m);
            }
            case PySet s when protocol >= 4 -> writeSet4(s);
            case PySet s -> {
                // protocol < 4 has no set opcodes: CPython writes set(list) / frozenset(list)
                write(new PyGlobal("builtins", s.frozen() ? "frozenset" : "set"));
                write(PyTuple.of(new ArrayList<>(s.items())));
                reduce();
                memoize(s);
            }
            case TorchSize size -> {
                write(new PyGlobal("torch", "Size"));
                List<Object> dims = new ArrayList<>(size.rank());
                for (long d : size.dims()) dims.add(d);
                write(PyTuple.of(new PyTuple(dims)));
                reduce();
                memoize(size);
            }
            case PyObject o -> writeObject(o);
            default -> throw new IllegalArgumentException("cannot pickle a " + value.getClass().getName());
        }
    }

    /** CPython: elements, then TUPLE1..3 or MARK … TUPLE, then the tuple is memoized; () is never memoized. */
    private void writeTuple(PyTuple t) {
        int n = t.size();
        if (n == 0) {
            emptyTuple();
            return;
        }
        if (writeMemoized(t)) return;
        if (n <= 3) {
            for (Object o : t.items()) write(o);
            op(TUPLE1 + n - 1);
        } else {
            mark();
            for (Object o : t.items()) write(o);
            tuple();
        }
        memoize(t);
    }

    /**
     * Protocol ≤ 2 has no bytes opcodes: CPython writes {@code _codecs.encode(latin1_str, 'latin1')}. For
     * {@code b''} it would write {@code __builtin__.bytes()}, which torch's weights-only loader refuses, so empty
     * bytes take the same {@code _codecs.encode} form. A bytearray is {@code bytearray(latin1_str, 'latin-1')}.
     */
    private void writeBytes(PyBytes b) {
        if (protocol >= 4) {
            writeBytes4(b);
            return;
        }
        String latin1 = new String(b.data(), StandardCharsets.ISO_8859_1);
        if (b.mutable()) {
            write(new PyGlobal("builtins", "bytearray"));
            if (b.length() == 0) write(PyTuple.EMPTY);
            else write(PyTuple.of(latin1, "latin-1"));
        } else {
            write(CODECS_ENCODE);
            write(PyTuple.of(latin1, "latin1"));
        }
        reduce();
        memoize(b);
    }

    /** CPython ≥ 3: SHORT_BINBYTES / BINBYTES; a bytearray (protocol < 5) is {@code bytearray(bytes)}. */
    private void writeBytes4(PyBytes b) {
        if (b.mutable()) {
            write(new PyGlobal("builtins", "bytearray"));
            writeBytes4(new PyBytes(b.data(), false));
            tuple1();
            reduce();
            memoize(b);
            return;
        }
        byte[] data = b.data();
        if (data.length < 256) {
            op(SHORT_BINBYTES);
            op(data.length);
        } else {
            op(BINBYTES);
            u32(data.length);
        }
        bytes(data);
        memoize(b);
    }

    /** CPython protocol 4: EMPTY_SET, memo, then batches of ADDITEMS; a frozenset is MARK items FROZENSET. */
    private void writeSet4(PySet s) {
        if (s.frozen()) {
            mark();
            for (Object o : s.items()) write(o);
            op(FROZENSET);
            memoize(s);
            return;
        }
        op(EMPTY_SET);
        memoize(s);
        Iterator<?> it = s.items().iterator();
        while (it.hasNext()) {
            mark();
            for (int n = 0; n < BATCH && it.hasNext(); n++) write(it.next());
            op(ADDITEMS);
        }
    }

    private void writeObject(PyObject o) {
        if (o.kwargs() != null && o.kwargs().size() > 0) {
            throw new IllegalArgumentException("cannot pickle " + o.type() + " with keyword arguments in protocol 2");
        }
        write(o.type());
        write(o.args());
        if (o.origin() == PyObject.Origin.NEWOBJ) newObj();
        else reduce();
        memoize(o);
        writeAppends(o.listItems());
        writeSetItems(o.dictItems().items());
        if (o.state() != null) {
            write(o.state());
            build();
        }
    }

    private void writeAppends(List<?> items) {
        Iterator<?> it = items.iterator();
        while (it.hasNext()) {
            Object first = it.next();
            if (!it.hasNext()) { // a batch of one: APPEND without MARK, as CPython
                write(first);
                append();
                return;
            }
            mark();
            write(first);
            for (int n = 1; n < BATCH && it.hasNext(); n++) write(it.next());
            appends();
        }
    }

    private void writeSetItems(Map<?, ?> items) {
        Iterator<? extends Map.Entry<?, ?>> it = items.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<?, ?> first = it.next();
            if (!it.hasNext()) {
                write(first.getKey());
                write(first.getValue());
                setItem();
                return;
            }
            mark();
            write(first.getKey());
            write(first.getValue());
            for (int n = 1; n < BATCH && it.hasNext(); n++) {
                Map.Entry<?, ?> e = it.next();
                write(e.getKey());
                write(e.getValue());
            }
            setItems();
        }
    }

    // ---- memo ----

    /**
     * {@code BINPUT i} / {@code LONG_BINPUT i} (protocol 4: {@code MEMOIZE}) of the top of the stack at the next memo
     * index, which it returns.
     */
    public int put() {
        int i = memoSize++;
        if (protocol >= 4) {
            op(MEMOIZE);
        } else if (i < 256) {
            op(BINPUT);
            op(i);
        } else {
            op(LONG_BINPUT);
            u32(i);
        }
        return i;
    }

    /** {@code BINGET i} / {@code LONG_BINGET i}. */
    public void get(int index) {
        if (index < 0 || index >= memoSize) throw new IllegalArgumentException("memo index " + index + " was never put");
        if (index < 256) {
            op(BINGET);
            op(index);
        } else {
            op(LONG_BINGET);
            u32(index);
        }
    }

    /** {@link #put()} the top of the stack and remember it under {@code key} (by identity) for {@link #writeMemoized}. */
    public int memoize(Object key) {
        int i = put();
        identityMemo.put(key, i);
        return i;
    }

    /** If {@code key} was {@link #memoize memoized}, writes a GET of it and returns true. */
    public boolean writeMemoized(Object key) {
        Integer i = identityMemo.get(key);
        if (i == null) return false;
        get(i);
        return true;
    }

    private void memoizeValue(Object key) {
        valueMemo.put(key, put());
    }

    private boolean writeMemoizedValue(Object key) {
        Integer i = valueMemo.get(key);
        if (i == null) return false;
        get(i);
        return true;
    }

    // ---- opcodes ----

    /**
     * {@code GLOBAL module name} and BINPUT, as CPython memoizes globals; a global written before becomes a BINGET.
     * Protocol 4: the two names as (memoized) strings, then {@code STACK_GLOBAL} and MEMOIZE, as CPython.
     * The names are written as given (no Python 2 renaming; {@link #write} applies that to {@link PyGlobal}s).
     */
    public void global_(String module, String name) {
        if (module.indexOf('\n') >= 0 || name.indexOf('\n') >= 0) throw new IllegalArgumentException("newline in a global name");
        PyGlobal key = new PyGlobal(module, name);
        if (writeMemoizedValue(key)) return;
        if (protocol >= 4) {
            write(module);
            write(name);
            op(STACK_GLOBAL);
        } else {
            op(GLOBAL);
            bytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
        }
        memoizeValue(key);
    }

    public void mark() {
        op(MARK);
    }

    /** {@code TUPLE}: everything since the last MARK. */
    public void tuple() {
        op(TUPLE);
    }

    public void tuple1() {
        op(TUPLE1);
    }

    public void tuple2() {
        op(TUPLE2);
    }

    public void tuple3() {
        op(TUPLE3);
    }

    public void emptyTuple() {
        op(EMPTY_TUPLE);
    }

    public void emptyList() {
        op(EMPTY_LIST);
    }

    public void append() {
        op(APPEND);
    }

    public void appends() {
        op(APPENDS);
    }

    public void emptyDict() {
        op(EMPTY_DICT);
    }

    public void setItem() {
        op(SETITEM);
    }

    public void setItems() {
        op(SETITEMS);
    }

    public void reduce() {
        op(REDUCE);
    }

    public void newObj() {
        op(NEWOBJ);
    }

    public void build() {
        op(BUILD);
    }

    /** {@code BINPERSID}: the persistent id (torch: a {@code ('storage', …)} tuple) must be on the stack. */
    public void binPersId() {
        op(BINPERSID);
    }

    public void none() {
        op(NONE);
    }

    public void newTrue() {
        op(NEWTRUE);
    }

    public void newFalse() {
        op(NEWFALSE);
    }

    public void bool(boolean b) {
        op(b ? NEWTRUE : NEWFALSE);
    }

    /** BININT1 / BININT2 / BININT, else LONG1 (CPython's choice for protocol 2). */
    public void int_(long v) {
        if (v >= 0 && v < 0x100) {
            op(BININT1);
            op((int) v);
        } else if (v >= 0 && v < 0x10000) {
            op(BININT2);
            op((int) v & 0xFF);
            op((int) (v >>> 8) & 0xFF);
        } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
            op(BININT);
            u32(v);
        } else {
            int_(BigInteger.valueOf(v));
        }
    }

    /** LONG1 with minimal two's-complement little-endian bytes; more than 255 bytes would need LONG4, which torch refuses. */
    public void int_(BigInteger v) {
        if (v.bitLength() < 64) {
            long l = v.longValue();
            if (l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE) {
                int_(l);
                return;
            }
        }
        byte[] be = v.toByteArray(); // minimal two's complement, big-endian: the bytes CPython's encode_long keeps
        if (be.length > 255) throw new IllegalArgumentException("integer of " + v.bitLength() + " bits needs LONG4, which torch.load refuses");
        op(LONG1);
        op(be.length);
        for (int i = be.length - 1; i >= 0; i--) op(be[i] & 0xFF);
    }

    /** BINFLOAT: 8 bytes, big-endian. */
    public void float_(double d) {
        long bits = Double.doubleToRawLongBits(d);
        op(BINFLOAT);
        for (int i = 7; i >= 0; i--) op((int) (bits >>> (8 * i)) & 0xFF);
    }

    /**
     * BINUNICODE (UTF-8; protocol 4: SHORT_BINUNICODE below 256 bytes), not memoized; {@link #write} memoizes strings
     * as CPython does.
     */
    public void string(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        if (protocol >= 4 && utf8.length < 256) {
            op(SHORT_BINUNICODE);
            op(utf8.length);
        } else {
            op(BINUNICODE);
            u32(utf8.length);
        }
        bytes(utf8);
    }

    // ---- raw output ----

    private void op(int b) {
        if (count == buf.length) drain();
        buf[count++] = (byte) b;
    }

    private void u32(long v) {
        for (int i = 0; i < 4; i++) op((int) (v >>> (8 * i)) & 0xFF);
    }

    private void bytes(byte[] b) {
        if (b.length > buf.length - count) {
            drain();
            if (b.length > buf.length) {
                try {
                    out.write(b);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                return;
            }
        }
        System.arraycopy(b, 0, buf, count, b.length);
        count += b.length;
    }

    private void drain() {
        try {
            out.write(buf, 0, count);
            count = 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
