package ckpt.format.pickle;

/**
 * Bounds a hostile pickle cannot push the reader past.
 *
 * @param maxDepth        most entries on the operand stack plus open MARKs at any time
 * @param maxMemoEntries  memo indices must be below this
 * @param maxLength       longest single str/bytes; a length is also always checked against the bytes left
 * @param maxTotalObjects most values pushed onto the stack over the whole pickle
 */
public record PickleLimits(int maxDepth, int maxMemoEntries, long maxLength, long maxTotalObjects) {
    /**
     * Generous for real checkpoints (torch batches containers by 1000, so the stack stays in the thousands; a DCP
     * {@code .metadata} of hundreds of MB pushes a few hundred million values), tight enough that deep nesting fails
     * fast with a message instead of exhausting memory.
     */
    public static final PickleLimits DEFAULT = new PickleLimits(100_000, 50_000_000, Integer.MAX_VALUE - 8, 4_000_000_000L);

    public PickleLimits {
        if (maxDepth < 1 || maxMemoEntries < 0 || maxLength < 0 || maxTotalObjects < 1) {
            throw new IllegalArgumentException("pickle limits must be positive");
        }
        maxLength = Math.min(maxLength, Integer.MAX_VALUE - 8); // a Java array cannot be longer
    }
}
