package ckpt.engine.cuda;

import java.lang.foreign.MemorySegment;

/**
 * A device's side of a {@link ChunkedCopy}: {@link #slots()} independent slots, each with a pinned input and output
 * buffer of {@link #bufferBytes()} and its own queue of work. {@link #submit} queues
 * host-to-device copy, kernel and device-to-host copy of one chunk and returns at once; {@link #await} blocks until
 * that slot's queued work is done and its output buffer holds the result.
 */
interface Staging {
    int slots();

    /** Bytes of each slot's input and of its output buffer. */
    long bufferBytes();

    MemorySegment input(int slot);

    MemorySegment output(int slot);

    /** Converts {@code count} elements of {@code input(slot)} into {@code output(slot)}; with {@code cols > 0}, the
     * {@code [count/cols, cols]} matrix transposed. */
    void submit(int slot, ElementCode codes, long count, long cols);

    void await(int slot);
}
