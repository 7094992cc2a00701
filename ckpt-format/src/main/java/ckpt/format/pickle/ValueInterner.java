package ckpt.format.pickle;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Shares equal small tuples of scalars and equal {@code torch.Size}s within one read. Protocol ≥ 2 pickles memoize
 * every tuple, so the memo keeps each one alive to the end of the read even when it is never referenced again: a
 * 405B-scale DCP {@code .metadata} pickles four tuples per chunk, millions in all, nearly all equal to one another
 * ({@code (0, 0)}, {@code (16032, 16384)}, …). Tuples are immutable and the value model never compares them by
 * identity, so sharing is invisible to readers of the result. The table is bounded: past {@link #MAX_ENTRIES}
 * distinct values new ones are simply not shared.
 */
final class ValueInterner {
    static final int MAX_TUPLE = 8;
    static final int MAX_ENTRIES = 1 << 20;

    private final Map<PyTuple, PyTuple> tuples = new HashMap<>();
    private final Map<TorchSize, TorchSize> sizes = new HashMap<>();

    /**
     * True when stack[from, to) holds only immutable values equal by content: ints, str, None, bool, and tuples this
     * interner shared (never a tuple that could hold a list, whose content may still change).
     */
    boolean internable(Object[] stack, int from, int to) {
        if (to - from > MAX_TUPLE) return false;
        for (int i = from; i < to; i++) {
            Object o = stack[i];
            if (o instanceof PyTuple t) {
                if (tuples.get(t) != t) return false;
            } else if (!(o == null || o instanceof Long || o instanceof String || o instanceof Boolean)) {
                return false;
            }
        }
        return true;
    }

    PyTuple tuple(Object[] stack, int from, int to) {
        PyTuple fresh = new PyTuple(Arrays.asList(stack).subList(from, to));
        PyTuple shared = tuples.get(fresh);
        if (shared != null) return shared;
        if (tuples.size() < MAX_ENTRIES) tuples.put(fresh, fresh);
        return fresh;
    }

    TorchSize size(TorchSize s) {
        TorchSize shared = sizes.get(s);
        if (shared != null) return shared;
        if (sizes.size() < MAX_ENTRIES) sizes.put(s, s);
        return s;
    }
}
