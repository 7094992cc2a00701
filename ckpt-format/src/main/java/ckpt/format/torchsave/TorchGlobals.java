package ckpt.format.torchsave;

import ckpt.format.FormatException;
import ckpt.format.pickle.PickleReader;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyGlobal;
import ckpt.format.pickle.PyTuple;
import ckpt.format.pickle.TorchSize;
import ckpt.format.tensor.DType;

import java.nio.file.Path;
import java.util.List;

/**
 * What torch.save pickles mean by their storages and tensor rebuild functions (FORMATS.md §2.4–2.5), taught to a
 * {@link PickleReader}: persistent ids become {@link StorageRef}s and {@code _rebuild_*} calls become
 * {@link TensorRef}s. Nothing is called; unsupported tensor kinds (quantized, sparse, nested, wrapper subclasses)
 * are refused with a clear error rather than read wrongly.
 */
public final class TorchGlobals {
    private TorchGlobals() {
    }

    /** A reader that understands torch.save pickles of {@code file}. */
    public static PickleReader.Builder reader(Path file) {
        PickleReader.Builder b = PickleReader.builder().file(file)
                .persistentLoader(pid -> storage(file, pid));
        b.reducer("torch._utils", "_rebuild_tensor_v2", args -> rebuildTensor(file, args, null, true));
        b.reducer("torch._utils", "_rebuild_tensor", args -> rebuildTensor(file, args, null, false));
        b.reducer("torch._utils", "_rebuild_tensor_v3", args -> rebuildTensorV3(file, args));
        b.reducer("torch._utils", "_rebuild_parameter", args -> parameter(file, args));
        b.reducer("torch._utils", "_rebuild_parameter_with_state", args -> parameter(file, args));
        b.reducer("torch._utils", "_rebuild_device_tensor_from_cpu_tensor", args -> tensorArg(file, args, 0));
        b.reducer("torch._tensor", "_rebuild_from_type_v2", args -> fromTypeV2(file, args));
        b.reducer("torch._utils", "_rebuild_meta_tensor_no_storage", args -> metaTensor(file, args));
        for (String unsupported : List.of("_rebuild_qtensor", "_rebuild_sparse_tensor", "_rebuild_nested_tensor",
                "_rebuild_wrapper_subclass", "_rebuild_device_tensor_from_numpy", "_rebuild_sparse_csr")) {
            b.reducer("torch._utils", unsupported, args -> {
                throw new FormatException(file, "unsupported tensor kind (torch._utils." + unsupported
                        + "): quantized, sparse, nested and wrapper-subclass tensors are not read by ckpt");
            });
        }
        return b;
    }

    static StorageRef storage(Path file, Object pid) {
        if (pid instanceof PyTuple t && t.size() > 0 && "module".equals(t.get(0)))
            throw new FormatException(file, "the file pickles a whole nn.Module (legacy torch.save of a model object); "
                    + "only state dicts and plain containers of tensors are supported");
        if (!(pid instanceof PyTuple t) || t.size() < 5 || !"storage".equals(t.get(0)))
            throw new FormatException(file, "unsupported persistent id " + pid + " (expected ('storage', class, key, location, numel))");
        if (!(t.get(1) instanceof PyGlobal cls))
            throw new FormatException(file, "storage type is not a class reference: " + t.get(1));
        DType dtype;
        if (cls.name().equals("UntypedStorage")) {
            dtype = null;
        } else {
            dtype = DType.fromStorageClass(cls.name()).orElseThrow(() -> new FormatException(file,
                    "unsupported storage type " + cls + (cls.name().startsWith("Q") ? " (quantized tensors are not supported)" : "")));
        }
        String key = String.valueOf(t.get(2));
        String location = t.get(3) instanceof String s ? s : String.valueOf(t.get(3));
        long numel = asLong(file, t.get(4), "storage numel");
        if (numel < 0) throw new FormatException(file, "negative storage size " + numel + " for data/" + key);
        if (t.size() >= 6 && t.get(5) != null)
            throw new FormatException(file, "legacy storage views (view_metadata) are not supported, storage " + key);
        return new StorageRef(key, dtype, location, numel);
    }

    private static Object rebuildTensor(Path file, PyTuple args, DType explicit, boolean v2) {
        if (args.size() < 4) throw new FormatException(file, "_rebuild_tensor with " + args.size() + " arguments");
        if (!(args.get(0) instanceof StorageRef st))
            throw new FormatException(file, "tensor storage is not a storage reference: " + args.get(0));
        long offset = asLong(file, args.get(1), "storage_offset");
        long[] shape = dims(file, args.get(2), "size");
        long[] stride = dims(file, args.get(3), "stride");
        if (shape.length != stride.length)
            throw new FormatException(file, "tensor size and stride differ in rank (data/" + st.key() + ")");
        boolean requiresGrad = v2 && args.size() > 4 && Boolean.TRUE.equals(args.get(4));
        int metadataIndex = explicit == null ? 6 : 7;
        if (v2 && args.size() > metadataIndex && args.get(metadataIndex) instanceof PyDict md && md.size() > 0)
            throw new FormatException(file, "tensor with conj/neg bits " + md + " is not supported (data/" + st.key() + ")");
        DType dtype = explicit != null ? explicit : st.dtype();
        if (dtype == null)
            throw new FormatException(file, "untyped storage data/" + st.key() + " without an explicit dtype");
        for (int i = 0; i < shape.length; i++)
            if (shape[i] < 0 || stride[i] < 0)
                throw new FormatException(file, "negative size or stride in tensor on data/" + st.key());
        if (offset < 0) throw new FormatException(file, "negative storage offset on data/" + st.key());
        TensorRef t = new TensorRef(st, dtype, offset, shape, stride, requiresGrad, false);
        checkInside(file, t);
        return t;
    }

    private static Object rebuildTensorV3(Path file, PyTuple args) {
        if (args.size() < 7 || !(args.get(6) instanceof DType dtype))
            throw new FormatException(file, "_rebuild_tensor_v3 without a known dtype: " + (args.size() >= 7 ? args.get(6) : "missing"));
        if (!(args.get(0) instanceof StorageRef st))
            throw new FormatException(file, "tensor storage is not a storage reference: " + args.get(0));
        // UntypedStorage counts bytes; offsets and strides still count elements of `dtype`.
        long elems = st.dtype() == null ? st.numel() / dtype.byteSize() : st.numel();
        StorageRef typed = new StorageRef(st.key(), dtype, st.location(), elems);
        PyTuple retyped = new PyTuple(replaceFirst(args, typed));
        return rebuildTensor(file, retyped, dtype, true);
    }

    private static List<Object> replaceFirst(PyTuple args, Object first) {
        java.util.ArrayList<Object> l = new java.util.ArrayList<>(args.items());
        l.set(0, first);
        return l;
    }

    private static Object parameter(Path file, PyTuple args) {
        TensorRef data = tensorArg(file, args, 0);
        boolean rg = args.size() > 1 && Boolean.TRUE.equals(args.get(1));
        return data.asParameter(rg);
    }

    private static TensorRef tensorArg(Path file, PyTuple args, int i) {
        if (args.size() <= i || !(args.get(i) instanceof TensorRef t))
            throw new FormatException(file, "expected a tensor argument, found " + (args.size() > i ? args.get(i) : "nothing"));
        return t;
    }

    private static Object fromTypeV2(Path file, PyTuple args) {
        // (func, new_type, args, state): func was already applied by the reader only if it appeared as REDUCE;
        // here it is a bare global, so apply the rebuild we know for it.
        if (args.size() < 3 || !(args.get(0) instanceof PyGlobal func) || !(args.get(2) instanceof PyTuple inner))
            throw new FormatException(file, "malformed _rebuild_from_type_v2 call");
        Object t = switch (func.module() + "." + func.name()) {
            case "torch._utils._rebuild_tensor_v2" -> rebuildTensor(file, inner, null, true);
            case "torch._utils._rebuild_tensor_v3" -> rebuildTensorV3(file, inner);
            case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state" -> parameter(file, inner);
            default -> throw new FormatException(file, "tensor subclass rebuilt by " + func + " is not supported");
        };
        if (!(args.get(1) instanceof PyGlobal type) || !(type.is("torch", "Tensor") || type.is("torch.nn.parameter", "Parameter")))
            throw new FormatException(file, "tensor subclass " + args.get(1) + " is not supported");
        return t;
    }

    private static Object metaTensor(Path file, PyTuple args) {
        if (args.size() < 3 || !(args.get(0) instanceof DType dtype))
            throw new FormatException(file, "malformed _rebuild_meta_tensor_no_storage call");
        return new TensorRef(null, dtype, 0, dims(file, args.get(1), "size"), dims(file, args.get(2), "stride"), false, false);
    }

    static void checkInside(Path file, TensorRef t) {
        String why = t.outsideStorage(null);
        if (why != null) throw new FormatException(file, why);
    }

    static long[] dims(Path file, Object o, String what) {
        List<Object> items;
        if (o instanceof TorchSize s) return s.dims();
        if (o instanceof PyTuple t) items = t.items();
        else if (o instanceof List<?> l) items = List.copyOf(l);
        else throw new FormatException(file, "tensor " + what + " is not a tuple: " + o);
        long[] d = new long[items.size()];
        for (int i = 0; i < d.length; i++) d[i] = asLong(file, items.get(i), what);
        return d;
    }

    static long asLong(Path file, Object o, String what) {
        if (o instanceof Long l) return l;
        if (o instanceof Integer i) return i;
        throw new FormatException(file, what + " is not an integer: " + o);
    }
}
