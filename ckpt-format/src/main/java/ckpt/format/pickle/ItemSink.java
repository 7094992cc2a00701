package ckpt.format.pickle;

import java.util.List;

/**
 * Takes container items a caller stores more compactly than the value model does. A large DCP {@code .metadata}
 * puts 1.4 M key/record pairs into one dict and 1.4 M chunk records into lists; held there as objects they are most
 * of the parse's live heap (and of its GC time), while the caller has already turned each into a row of its own
 * columns at BUILD. Once a sink takes an item of a container it must take all later ones of that container, so the
 * caller can give back the items in pickle order: those left in the container first, then those it took.
 */
public interface ItemSink {
    /**
     * True when the sink took {@code target[key] = value}; the key was already found hashable.
     * @param targetSunk whether the sink took an earlier item of target (it must take this one too)
     */
    boolean setItem(PyDict target, boolean targetSunk, Object key, Object value);

    /** True when the sink took {@code target.append(value)}. */
    boolean append(List<?> target, Object value);
}
