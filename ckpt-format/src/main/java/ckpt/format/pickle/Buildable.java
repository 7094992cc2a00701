package ckpt.format.pickle;

/**
 * A value a BUILD opcode completes in place. Memo references taken before the BUILD must see the result, so the
 * reader never replaces a memoized object: it calls {@link #build} on it. Throw {@link IllegalArgumentException}
 * for a state that does not fit.
 */
public interface Buildable {
    void build(Object state);
}
