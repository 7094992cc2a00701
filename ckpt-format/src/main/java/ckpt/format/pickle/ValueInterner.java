package ckpt.format.pickle;

import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Shares equal small tuples of scalars and equal {@code torch.Size}s within one read. Protocol ≥ 2 pickles memoize
 * every tuple, so the memo keeps each one alive to the end of the read even when it is never referenced again: a
 * 405B-scale DCP {@code .metadata} pickles four tuples per chunk, millions in all, nearly all equal to one another
 * ({@code (0, 0)}, {@code (16032, 16384)}, …). Tuples are immutable and the value model never compares them by
 * identity, so sharing is invisible to readers of the result. The table is bounded: past {@link #MAX_ENTRIES}
 * distinct values new ones are simply not shared.
 *
 * <p>An open-addressing table with its own scrambled hash: {@link PyTuple}'s hash is {@code List.hashCode}
 * ({@code 31 * h + e}), which collides wholesale on offsets that are multiples of shard sizes.
 */
final class ValueInterner {
    static final int MAX_TUPLE = 8;
    static final int MAX_ENTRIES = 1 << 20;

    private PyTuple[] table = new PyTuple[1 << 10];
    private int count;
    /** Interned tuples by identity: a nested tuple may be part of an interned one only if it is itself shared. */
    private final java.util.Set<PyTuple> interned = Collections.newSetFromMap(new IdentityHashMap<>());
    /** torch.Size results by their (interned) argument tuple. */
    private final Map<PyTuple, TorchSize> sizes = new IdentityHashMap<>();

    /**
     * True when stack[from, to) holds only immutable values equal by content: ints, str, None, bool, and tuples this
     * interner shared (never a tuple that could hold a list, whose content may still change).
     */
    boolean internable(Object[] stack, int from, int to) {
        if (to - from > MAX_TUPLE) return false;
        for (int i = from; i < to; i++) {
            Object o = stack[i];
            if (o instanceof PyTuple t) {
                if (!interned.contains(t)) return false;
            } else if (!(o == null || o instanceof Long || o instanceof String || o instanceof Boolean)) {
                return false;
            }
        }
        return true;
    }

    PyTuple tuple(Object[] stack, int from, int to) {
        int mask = table.length - 1;
        int i = hash(stack, from, to) & mask;
        for (PyTuple t; (t = table[i]) != null; i = (i + 1) & mask) {
            if (same(t, stack, from, to)) return t;
        }
        PyTuple fresh = new PyTuple(Arrays.asList(stack).subList(from, to));
        if (count < MAX_ENTRIES) {
            table[i] = fresh;
            interned.add(fresh);
            if (++count * 2 > table.length) grow();
        }
        return fresh;
    }

    /** A torch.Size equal to s, shared when its argument tuple was shared. */
    TorchSize size(Object args, TorchSize s) {
        if (!(args instanceof PyTuple t) || !interned.contains(t)) return s;
        TorchSize shared = sizes.putIfAbsent(t, s);
        return shared == null ? s : shared;
    }

    private void grow() {
        PyTuple[] old = table;
        table = new PyTuple[old.length * 2];
        int mask = table.length - 1;
        for (PyTuple t : old) {
            if (t == null) continue;
            Object[] items = t.items().toArray();
            int i = hash(items, 0, items.length) & mask;
            while (table[i] != null) i = (i + 1) & mask;
            table[i] = t;
        }
    }

    private static boolean same(PyTuple t, Object[] stack, int from, int to) {
        if (t.size() != to - from) return false;
        for (int k = 0; k < t.size(); k++) {
            Object a = t.get(k), b = stack[from + k];
            if (a instanceof PyTuple || b instanceof PyTuple) {
                if (a != b) return false; // nested tuples are interned: equal means identical
            } else if (!Objects.equals(a, b) || (a != null && a.getClass() != b.getClass())) {
                return false;
            }
        }
        return true;
    }

    private static int hash(Object[] items, int from, int to) {
        long h = to - from;
        for (int k = from; k < to; k++) {
            Object o = items[k];
            long e = o == null ? 0x51ED27L : o instanceof Long l ? l : o instanceof PyTuple ? System.identityHashCode(o) : o.hashCode();
            h = (h + e) * 0x9E3779B97F4A7C15L;
            h ^= h >>> 31;
        }
        return (int) (h ^ (h >>> 32));
    }
}
