package ckpt.format.pickle;

import java.util.AbstractList;
import java.util.Arrays;
import java.util.List;
import java.util.RandomAccess;

/** A Python tuple: immutable, structural equality (so it can be a dict key). Elements may be null (None). */
public record PyTuple(List<Object> items) {
    public static final PyTuple EMPTY = new PyTuple(List.of());

    public PyTuple {
        if (!(items instanceof Items)) items = new Items(items.toArray()); // Items never changes: no copy needed
    }

    /** A tuple of {@code values[from, to)}, copied once (the reader makes millions of them). */
    static PyTuple copyOf(Object[] values, int from, int to) {
        return new PyTuple(new Items(Arrays.copyOfRange(values, from, to)));
    }

    public static PyTuple of(Object... items) {
        return new PyTuple(java.util.Arrays.asList(items));
    }

    public int size() {
        return items.size();
    }

    public Object get(int i) {
        return items.get(i);
    }

    /**
     * Unmodifiable element list that caches its hash: a pickle may use one large tuple as a dict key many times
     * (through the memo), and rehashing it each time would make reading quadratic.
     */
    private static final class Items extends AbstractList<Object> implements RandomAccess {
        private final Object[] elements;
        private int hash;
        private boolean hashed;

        Items(Object[] elements) {
            this.elements = elements;
        }

        @Override
        public Object get(int index) {
            return elements[index];
        }

        @Override
        public int size() {
            return elements.length;
        }

        @Override
        public Object[] toArray() {
            return elements.clone();
        }

        @Override
        public int hashCode() {
            if (!hashed) {
                hash = Arrays.hashCode(elements); // same value as List.hashCode
                hashed = true;
            }
            return hash;
        }

        @Override
        public boolean equals(Object o) {
            if (o == this) return true;
            if (o instanceof Items other) return Arrays.equals(elements, other.elements);
            return super.equals(o);
        }
    }
}
