package ckpt.format.megatron;

import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyObject;
import ckpt.format.tensor.DType;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Typed access to the {@code args} Namespace Megatron saves with every checkpoint. Values are read by name and
 * never trusted to exist: args come from many Megatron releases, some renamed (FORMATS.md §8: {@code --norm-epsilon}
 * is saved as {@code layernorm_epsilon}).
 */
public final class MegatronArgs {
    private final PyDict attrs;

    public MegatronArgs(PyDict attrs) {
        this.attrs = attrs;
    }

    /** From the pickled Namespace (or null → empty). */
    public static MegatronArgs of(Object namespace) {
        if (namespace instanceof PyObject o && o.stateDict() != null) return new MegatronArgs(o.stateDict());
        if (namespace instanceof PyDict d) return new MegatronArgs(d);
        return new MegatronArgs(new PyDict());
    }

    public boolean isEmpty() {
        return attrs.size() == 0;
    }

    public boolean has(String name) {
        return attrs.containsKey(name);
    }

    public Object raw(String name) {
        return attrs.get(name);
    }

    public Optional<Long> getLong(String name) {
        Object v = attrs.get(name);
        if (v instanceof Long l) return Optional.of(l);
        if (v instanceof Integer i) return Optional.of((long) i);
        if (v instanceof Double d && d == Math.rint(d)) return Optional.of(d.longValue());
        return Optional.empty();
    }

    public long getLong(String name, long dflt) {
        return getLong(name).orElse(dflt);
    }

    public Optional<Double> getDouble(String name) {
        Object v = attrs.get(name);
        if (v instanceof Double d) return Optional.of(d);
        if (v instanceof Long l) return Optional.of(l.doubleValue());
        return Optional.empty();
    }

    public boolean getBool(String name, boolean dflt) {
        Object v = attrs.get(name);
        return v instanceof Boolean b ? b : dflt;
    }

    public Optional<String> getString(String name) {
        Object v = attrs.get(name);
        if (v instanceof String s) return Optional.of(s);
        // Megatron enums pickle as REDUCE(EnumClass, (value,)); show the value.
        if (v instanceof PyObject o && o.args() != null && o.args().size() == 1 && o.args().get(0) instanceof String s)
            return Optional.of(s);
        return Optional.empty();
    }

    public Optional<DType> getDType(String name) {
        return attrs.get(name) instanceof DType d ? Optional.of(d) : Optional.empty();
    }

    /** All args as plain JSON-friendly values (numbers, strings, booleans, null, lists; other objects as text). */
    public Map<String, Object> toPlainMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        attrs.items().forEach((k, v) -> m.put(String.valueOf(k), Plain.of(v)));
        return m;
    }
}
