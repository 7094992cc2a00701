package ckpt.format.pickle;

import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * The callables the reader interprets without running anything (FORMATS.md §1.6). Each one reads its arguments
 * and builds a plain value; arguments of an unexpected shape are an error, never a guess.
 */
final class BuiltinReducers {
    /** The interpretation of {@code torch.Size}, one instance, so a reader can tell it was not replaced. */
    static final Reducer TORCH_SIZE = BuiltinReducers::torchSize;

    static final PyGlobal ORDERED_DICT = new PyGlobal("collections", "OrderedDict");

    private BuiltinReducers() {}

    static void registerAll(Map<PyGlobal, Reducer> table) {
        table.put(ORDERED_DICT, BuiltinReducers::orderedDict);
        table.put(new PyGlobal("builtins", "set"), args -> set(args, false));
        table.put(new PyGlobal("builtins", "frozenset"), args -> set(args, true));
        table.put(new PyGlobal("builtins", "bytearray"), args -> bytes(args, true));
        table.put(new PyGlobal("builtins", "bytes"), args -> bytes(args, false));
        table.put(new PyGlobal("_codecs", "encode"), BuiltinReducers::codecsEncode);
        table.put(new PyGlobal("torch", "Size"), TORCH_SIZE);
        for (String module : List.of("pathlib", "pathlib._local")) {
            for (String cls : List.of("Path", "PosixPath", "WindowsPath", "PurePath", "PurePosixPath", "PureWindowsPath")) {
                table.put(new PyGlobal(module, cls), BuiltinReducers::path);
            }
        }
        for (String module : List.of("numpy.core.multiarray", "numpy._core.multiarray")) {
            table.put(new PyGlobal(module, "_reconstruct"), args -> new NumpyArray());
            PyGlobal scalar = new PyGlobal(module, "scalar");
            table.put(scalar, args -> numpyScalar(scalar, args));
        }
        table.put(new PyGlobal("numpy", "dtype"), BuiltinReducers::numpyDtype);
        table.put(new PyGlobal("copyreg", "_reconstructor"), BuiltinReducers::reconstructor);
        table.put(new PyGlobal("copyreg", "__newobj__"), BuiltinReducers::newobj);
    }

    /** {@code OrderedDict()} (what torch writes), or {@code OrderedDict([(k, v), …])}. */
    private static Object orderedDict(PyTuple args) {
        PyDict d = new PyDict(ORDERED_DICT);
        if (args.size() == 0) return d;
        if (args.size() == 1 && args.get(0) instanceof PyDict src) {
            src.items().forEach(d::put);
            return d;
        }
        if (args.size() == 1 && args.get(0) instanceof Collection<?> pairs) {
            for (Object p : pairs) {
                if (!(p instanceof PyTuple kv) || kv.size() != 2) throw new IllegalArgumentException("OrderedDict item is not a (key, value) pair");
                d.put(kv.get(0), kv.get(1));
            }
            return d;
        }
        throw new IllegalArgumentException("OrderedDict arguments are neither () nor a list of pairs");
    }

    private static Object set(PyTuple args, boolean frozen) {
        PySet s = new PySet(frozen);
        if (args.size() == 0) return s;
        if (args.size() == 1) {
            Object src = args.get(0);
            if (src instanceof PySet other) src = other.items();
            if (src instanceof PyTuple t) src = t.items();
            if (src instanceof Collection<?> items) {
                s.items().addAll(items);
                return s;
            }
        }
        throw new IllegalArgumentException((frozen ? "frozenset" : "set") + " arguments are not ([items],)");
    }

    /** {@code bytes()} / {@code bytearray()}: empty, a copy of bytes, or (str, encoding) as protocol 2 writes it. */
    private static Object bytes(PyTuple args, boolean mutable) {
        if (args.size() == 0) return new PyBytes(new byte[0], mutable);
        if (args.size() == 1 && args.get(0) instanceof PyBytes b) return new PyBytes(b.data().clone(), mutable);
        if (args.size() == 2 && args.get(0) instanceof String s && args.get(1) instanceof String enc) {
            return new PyBytes(PickleText.encode(s, enc), mutable);
        }
        throw new IllegalArgumentException((mutable ? "bytearray" : "bytes") + " arguments are not (), (bytes,) or (str, encoding)");
    }

    /** {@code _codecs.encode(str, 'latin1')}: protocol 2's encoding of a non-empty bytes object. */
    private static Object codecsEncode(PyTuple args) {
        if (args.size() >= 1 && args.size() <= 2 && args.get(0) instanceof String s) {
            String enc = args.size() == 2 ? (args.get(1) instanceof String e ? e : null) : "utf-8";
            if (enc != null) return new PyBytes(PickleText.encode(s, enc));
        }
        throw new IllegalArgumentException("_codecs.encode arguments are not (str, encoding)");
    }

    private static Object torchSize(PyTuple args) {
        if (args.size() == 0) return new TorchSize(new long[0]);
        if (args.size() == 1 && (args.get(0) instanceof PyTuple || args.get(0) instanceof List<?>)) {
            List<?> dims = args.get(0) instanceof PyTuple t ? t.items() : (List<?>) args.get(0);
            long[] out = new long[dims.size()];
            for (int i = 0; i < out.length; i++) {
                if (!(dims.get(i) instanceof Long d)) throw new IllegalArgumentException("torch.Size entry is not an int: " + PyRepr.repr(dims.get(i)));
                out[i] = d;
            }
            return new TorchSize(out);
        }
        throw new IllegalArgumentException("torch.Size arguments are not ((d0, d1, …),)");
    }

    /** pathlib paths pickle their parts; join them like posixpath.join (an absolute part restarts the path). */
    private static Object path(PyTuple args) {
        StringBuilder sb = new StringBuilder();
        for (Object part : args.items()) {
            if (!(part instanceof String p)) throw new IllegalArgumentException("path part is not a str: " + part);
            if (p.startsWith("/")) sb.setLength(0);
            else if (!sb.isEmpty() && sb.charAt(sb.length() - 1) != '/') sb.append('/');
            sb.append(p);
        }
        return sb.toString();
    }

    private static Object numpyDtype(PyTuple args) {
        if (args.size() >= 1 && args.get(0) instanceof String code) return new NumpyDtype(code);
        throw new IllegalArgumentException("numpy.dtype arguments are not (typecode, align, copy)");
    }

    private static Object numpyScalar(PyGlobal scalar, PyTuple args) {
        if (args.size() == 2 && args.get(0) instanceof NumpyDtype dt) {
            if (args.get(1) instanceof PyBytes b) return new NumpyScalar(dt.str(), b.data());
            if (args.get(1) instanceof String s) return new NumpyScalar(dt.str(), PickleText.latin1(s)); // Python 2
        }
        // Object scalars carry a Python value instead of bytes: keep them inert.
        return new PyObject(scalar, args, null, PyObject.Origin.REDUCE);
    }

    /** {@code copyreg._reconstructor(cls, base, state)}: how protocol 0/1 pickled plain class instances. */
    private static Object reconstructor(PyTuple args) {
        if (args.size() == 3 && args.get(0) instanceof PyGlobal cls) {
            PyTuple ctorArgs = args.get(2) == null ? PyTuple.EMPTY : PyTuple.of(args.get(2));
            return new PyObject(cls, ctorArgs, null, PyObject.Origin.NEWOBJ);
        }
        throw new IllegalArgumentException("copyreg._reconstructor arguments are not (cls, base, state)");
    }

    /** {@code copyreg.__newobj__(cls, *args)}. */
    private static Object newobj(PyTuple args) {
        if (args.size() >= 1 && args.get(0) instanceof PyGlobal cls) {
            return new PyObject(cls, new PyTuple(args.items().subList(1, args.size())), null, PyObject.Origin.NEWOBJ);
        }
        throw new IllegalArgumentException("copyreg.__newobj__ arguments do not start with a class");
    }
}
