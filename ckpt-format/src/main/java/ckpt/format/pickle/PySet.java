package ckpt.format.pickle;

import java.util.ArrayList;
import java.util.List;

/** Python {@code set} / {@code frozenset}, elements in pickle order. Mutable while the pickle fills it (ADDITEMS). */
public final class PySet {
    private final List<Object> items = new ArrayList<>();
    private final boolean frozen;

    public PySet(boolean frozen) {
        this.frozen = frozen;
    }

    public List<Object> items() {
        return items;
    }

    public boolean frozen() {
        return frozen;
    }

    @Override
    public String toString() {
        return (frozen ? "frozenset" : "set") + items;
    }
}
