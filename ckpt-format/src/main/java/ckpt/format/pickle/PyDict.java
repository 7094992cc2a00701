package ckpt.format.pickle;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;

/**
 * A Python {@code dict} or {@code collections.OrderedDict}: insertion order kept. Keys are Java values with
 * structural equality (String, Long, PyTuple, …) or inert objects compared by identity. A BUILD on an OrderedDict
 * sets Python attributes ({@code _metadata} of a state_dict), kept in {@link #attributes()}, never mixed with items.
 */
public final class PyDict {
    /**
     * Most dicts in checkpoint pickles are dataclass states of two to five fields, and a large DCP {@code .metadata}
     * holds millions of them, all kept alive by the pickle memo: up to {@link #SMALL} entries live in two small
     * arrays (insertion order, linear lookup), beyond that in a {@link LinkedHashMap}.
     */
    private static final int SMALL = 8;
    private Object[] keys;
    private Object[] values;
    private int size;
    private LinkedHashMap<Object, Object> large;
    /** Dense memo slot this dict was stored at (-1: none), so a consuming BUILD can release it. */
    int memoSlot = -1;
    /** An {@link ItemSink} took items of this dict: all later ones go there too. */
    boolean sunk;
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

    /** The items in insertion order; a live view (read through it, add through {@link #put}). */
    public Map<Object, Object> items() {
        return new View();
    }

    public Object get(Object key) {
        if (large != null) return large.get(key);
        int i = indexOf(key);
        return i < 0 ? null : values[i];
    }

    public boolean containsKey(Object key) {
        return large != null ? large.containsKey(key) : indexOf(key) >= 0;
    }

    public int size() {
        return large != null ? large.size() : size;
    }

    public void put(Object key, Object value) {
        if (large != null) {
            large.put(key, value);
            return;
        }
        int i = indexOf(key);
        if (i >= 0) {
            values[i] = value;
            return;
        }
        if (size == SMALL) {
            large = new LinkedHashMap<>(32);
            for (int j = 0; j < size; j++) large.put(keys[j], values[j]);
            keys = values = null;
            large.put(key, value);
            return;
        }
        if (keys == null) {
            keys = new Object[4];
            values = new Object[4];
        } else if (size == keys.length) {
            keys = java.util.Arrays.copyOf(keys, SMALL);
            values = java.util.Arrays.copyOf(values, SMALL);
        }
        keys[size] = key;
        values[size] = value;
        size++;
    }

    private int indexOf(Object key) {
        for (int i = 0; i < size; i++) if (Objects.equals(keys[i], key)) return i;
        return -1;
    }

    /** Read-only map view over either representation. */
    private final class View extends AbstractMap<Object, Object> {
        @Override
        public Set<Entry<Object, Object>> entrySet() {
            if (large != null) return java.util.Collections.unmodifiableMap(large).entrySet();
            return new AbstractSet<>() {
                @Override
                public Iterator<Entry<Object, Object>> iterator() {
                    if (large != null) return java.util.Collections.unmodifiableMap(large).entrySet().iterator();
                    return new Iterator<>() {
                        private int i;

                        @Override
                        public boolean hasNext() {
                            return i < size;
                        }

                        @Override
                        public Entry<Object, Object> next() {
                            if (i >= size) throw new NoSuchElementException();
                            int k = i++;
                            return new SimpleImmutableEntry<>(keys[k], values[k]);
                        }
                    };
                }

                @Override
                public int size() {
                    return PyDict.this.size();
                }
            };
        }

        @Override
        public Object get(Object key) {
            return PyDict.this.get(key);
        }

        @Override
        public boolean containsKey(Object key) {
            return PyDict.this.containsKey(key);
        }

        @Override
        public int size() {
            return PyDict.this.size();
        }
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
        return (type == null ? "dict" : type.name()) + items();
    }
}
