package ckpt.format.pickle;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A Python {@code dict} or {@code collections.OrderedDict}: insertion order kept. Keys are Java values with
 * structural equality (String, Long, PyTuple, …) or inert objects compared by identity. A BUILD on an OrderedDict
 * sets Python attributes ({@code _metadata} of a state_dict), kept in {@link #attributes()}, never mixed with items.
 */
public final class PyDict {
    private final LinkedHashMap<Object, Object> items = new LinkedHashMap<>();
    private final PyGlobal type;
    private Object attributes;

    /** A plain dict. */
    public PyDict() {
        this(null);
    }

    /** @param type null for {@code dict}, else the mapping class, e.g. {@code collections.OrderedDict} */
    public PyDict(PyGlobal type) {
        this.type = type;
    }

    public PyGlobal type() {
        return type;
    }

    public boolean isOrderedDict() {
        return type != null && type.is("collections", "OrderedDict");
    }

    public Map<Object, Object> items() {
        return items;
    }

    public Object get(Object key) {
        return items.get(key);
    }

    public boolean containsKey(Object key) {
        return items.containsKey(key);
    }

    public int size() {
        return items.size();
    }

    public void put(Object key, Object value) {
        items.put(key, value);
    }

    /** State a BUILD gave this mapping (attributes such as {@code _metadata}), or null. */
    public Object attributes() {
        return attributes;
    }

    public void setAttributes(Object attributes) {
        this.attributes = attributes;
    }

    @Override
    public String toString() {
        return (type == null ? "dict" : type.name()) + items;
    }
}
