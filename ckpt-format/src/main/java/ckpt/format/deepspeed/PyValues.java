package ckpt.format.deepspeed;

import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyObject;
import ckpt.format.pickle.PyTuple;
import ckpt.format.pickle.TorchSize;

import java.util.List;
import java.util.Optional;

/** Reading the plain values of DeepSpeed's pickles (inert: nothing here runs code). */
final class PyValues {
    private PyValues() {
    }

    static Optional<PyDict> dict(Object o) {
        return o instanceof PyDict d ? Optional.of(d) : Optional.empty();
    }

    /** A list or tuple's items; empty for anything else. */
    static Optional<List<Object>> list(Object o) {
        if (o instanceof List<?> l) return Optional.of(List.copyOf(l.stream().map(x -> (Object) x).toList()));
        if (o instanceof PyTuple t) return Optional.of(t.items());
        return Optional.empty();
    }

    static Optional<Long> integer(Object o) {
        if (o instanceof Long l) return Optional.of(l);
        if (o instanceof Integer i) return Optional.of((long) i);
        if (o instanceof Boolean) return Optional.empty();
        if (o instanceof java.math.BigInteger b && b.bitLength() < 63) return Optional.of(b.longValue());
        return Optional.empty();
    }

    /** A shape as DeepSpeed saves it: {@code torch.Size}, a tuple or a list of non-negative integers. */
    static Optional<long[]> shape(Object o) {
        if (o instanceof TorchSize s) return Optional.of(s.dims());
        Optional<List<Object>> l = list(o);
        if (l.isEmpty()) return Optional.empty();
        long[] dims = new long[l.get().size()];
        for (int i = 0; i < dims.length; i++) {
            Optional<Long> d = integer(l.get().get(i));
            if (d.isEmpty() || d.get() < 0) return Optional.empty();
            dims[i] = d.get();
        }
        return Optional.of(dims);
    }

    /**
     * ZeRO stage as saved: {@code ZeroStageEnum} is an int enum, pickled as {@code ZeroStageEnum(n)}; older
     * releases saved the plain int.
     */
    static Optional<Long> stage(Object o) {
        Optional<Long> n = integer(o);
        if (n.isPresent()) return n;
        if (o instanceof PyObject p && p.args() != null && p.args().size() == 1) {
            Object a = p.args().get(0);
            if (a instanceof String s && s.matches("\\d")) return Optional.of(Long.parseLong(s));
            return integer(a);
        }
        return Optional.empty();
    }

    /** An attribute of an inert object ({@code LossScaler.cur_scale}), or a dict entry. */
    static Optional<Object> attr(Object o, String name) {
        if (o instanceof PyObject p && p.hasAttr(name)) return Optional.ofNullable(p.attr(name));
        if (o instanceof PyDict d && d.containsKey(name)) return Optional.ofNullable(d.get(name));
        return Optional.empty();
    }
}
