package ckpt.format;

/**
 * A reader that maps file regions on demand. {@link #releaseMappings()} unmaps what was handed out so far to the
 * calling thread, so a long streaming job (a conversion, a deep verify) keeps its resident set bounded by the work
 * in flight instead of growing with every byte read; parallel workers each release their own. Views the thread
 * obtained before the call become invalid.
 */
public interface MappedSource {
    void releaseMappings();
}
