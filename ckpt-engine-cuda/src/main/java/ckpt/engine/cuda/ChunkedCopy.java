package ckpt.engine.cuda;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Runs a {@link CopyJob} through a {@link Staging}, overlapping the host's work with the device's: while the device
 * copies and converts chunk {@code i} in one slot, the host stages chunk {@code i+1} into the next slot's pinned
 * input, and scatters chunk {@code i-1}'s output from its pinned buffer into the destination. With two or more slots
 * on separate streams, one chunk's upload also overlaps another's download.
 */
final class ChunkedCopy {
    private ChunkedCopy() {
    }

    /** Returns false (nothing written) when the job does not fit the staging buffers. */
    static boolean run(CopyJob job, List<CopyJob.Chunk> chunks, Staging staging, ElementCode codes, int srcWidth, int dstWidth,
                       MemorySegment src, MemorySegment dst) {
        if (chunks.isEmpty()) return job.numel() == 0;
        int slots = staging.slots();
        CopyJob.Chunk[] pending = new CopyJob.Chunk[slots];
        long cols = job.transpose() ? job.srcShape()[1] : 0;
        try {
            for (int i = 0; i < chunks.size(); i++) {
                int slot = i % slots;
                finish(job, staging, slot, pending, dst, dstWidth);
                CopyJob.Chunk chunk = chunks.get(i);
                MemorySegment.copy(src, chunk.first() * srcWidth, staging.input(slot), 0, chunk.count() * srcWidth);
                staging.submit(slot, codes, chunk.count(), cols);
                pending[slot] = chunk;
            }
            for (int k = 0; k < slots; k++) finish(job, staging, (chunks.size() + k) % slots, pending, dst, dstWidth);
        } finally {
            // On failure, leave no slot with work that still writes into buffers the next job reuses.
            for (int slot = 0; slot < slots; slot++) if (pending[slot] != null) {
                pending[slot] = null;
                try {
                    staging.await(slot);
                } catch (RuntimeException ignored) {
                    // the first failure is the one reported
                }
            }
        }
        return true;
    }

    private static void finish(CopyJob job, Staging staging, int slot, CopyJob.Chunk[] pending, MemorySegment dst, int dstWidth) {
        CopyJob.Chunk done = pending[slot];
        if (done == null) return;
        staging.await(slot);
        pending[slot] = null;
        MemorySegment out = staging.output(slot);
        job.scatter(done, (chunkElement, dstElement, length) ->
                MemorySegment.copy(out, chunkElement * dstWidth, dst, dstElement * dstWidth, length * dstWidth));
    }
}
