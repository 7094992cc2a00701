package ckpt.format.pickle;

/**
 * A value a BUILD opcode completes in place. Memo references taken before the BUILD must see the result, so the
 * reader never replaces a memoized object: it calls {@link #build} on it. Throw {@link IllegalArgumentException}
 * for a state that does not fit.
 */
public interface Buildable {
    void build(Object state);

    /**
     * True when {@link #build} keeps nothing of a dict state, so the reader may drop that dict from the memo. A
     * BUILD state is the object's own fresh {@code __dict__}/{@code __getstate__} result, which picklers never
     * reference again; if a stream does, the reader fails on that GET rather than guess. This keeps millions of
     * per-chunk field dicts of a large DCP {@code .metadata} from living until the end of the parse.
     */
    default boolean consumesState() {
        return false;
    }
}
