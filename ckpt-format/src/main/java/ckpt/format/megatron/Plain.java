package ckpt.format.megatron;

import ckpt.format.pickle.PyBytes;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyGlobal;
import ckpt.format.pickle.PyObject;
import ckpt.format.pickle.PyTuple;
import ckpt.format.tensor.DType;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Inert pickle values → JSON-friendly Java values, for reports. Depth-limited: these come from files. */
public final class Plain {
    private Plain() {
    }

    public static Object of(Object v) {
        return of(v, 0);
    }

    private static Object of(Object v, int depth) {
        if (depth > 32) return "…";
        if (v == null || v instanceof Boolean || v instanceof Long || v instanceof Double || v instanceof String) return v;
        if (v instanceof Integer i) return (long) i;
        if (v instanceof BigInteger b) return b.toString();
        if (v instanceof DType d) return "torch." + d.torchName();
        if (v instanceof PyGlobal g) return g.toString();
        if (v instanceof PyBytes b) return "<" + b.length() + " bytes>";
        if (v instanceof PyTuple t) return list(t.items(), depth);
        if (v instanceof List<?> l) return list(l, depth);
        if (v instanceof PyDict d) {
            Map<String, Object> m = new LinkedHashMap<>();
            d.items().forEach((k, x) -> m.put(String.valueOf(k), of(x, depth + 1)));
            return m;
        }
        if (v instanceof PyObject o) {
            // Enums: Class(value) → "Class.value"-ish text; dataclasses/Namespaces → their fields.
            if (o.state() == null && o.args() != null && o.args().size() == 1
                    && (o.args().get(0) instanceof Long || o.args().get(0) instanceof String))
                return o.type().name() + "(" + o.args().get(0) + ")";
            PyDict sd = o.stateDict();
            if (sd != null) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("__type__", o.type().toString());
                sd.items().forEach((k, x) -> m.put(String.valueOf(k), of(x, depth + 1)));
                return m;
            }
            return o.type().toString();
        }
        return String.valueOf(v);
    }

    private static List<Object> list(List<?> l, int depth) {
        List<Object> out = new ArrayList<>(Math.min(l.size(), 1000));
        for (Object x : l) {
            if (out.size() == 1000) {
                out.add("… " + (l.size() - 1000) + " more");
                break;
            }
            out.add(of(x, depth + 1));
        }
        return out;
    }
}
