package ckpt.format.pickle;

import java.util.List;

/** A Python tuple: immutable, structural equality (so it can be a dict key). Elements may be null (None). */
public record PyTuple(List<Object> items) {
    public static final PyTuple EMPTY = new PyTuple(List.of());

    public PyTuple {
        items = java.util.Collections.unmodifiableList(new java.util.ArrayList<>(items));
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
}
