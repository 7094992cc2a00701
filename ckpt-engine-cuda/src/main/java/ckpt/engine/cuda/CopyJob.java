package ckpt.engine.cuda;

import ckpt.format.tensor.Shapes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One {@code copyBox} call cut into chunks that fit a lane's pinned buffers, and the places each chunk's converted
 * elements land in the destination. The source block is contiguous, so a chunk is a contiguous range of it: any
 * range of elements without a transpose, whole rows with one (the device transposes rows {@code [k0, k1)} of the
 * {@code [rows, cols]} block into a {@code [cols, k1-k0]} matrix, column {@code c} of which is one destination run).
 */
record CopyJob(long[] srcShape, long[] dstShape, long[] dstOffsets, boolean transpose) {
    /** Elements {@code [first, first + count)} of the source block; with a transpose, rows {@code [first/cols, ...)}. */
    record Chunk(long first, long count) {
    }

    /** Receives destination runs: {@code length} elements from {@code chunkElement} of a chunk's output to {@code dstElement}. */
    interface RunSink {
        void run(long chunkElement, long dstElement, long length);
    }

    CopyJob {
        if (dstOffsets.length != dstShape.length || srcShape.length != dstShape.length)
            throw new IllegalArgumentException("ranks differ: block " + Arrays.toString(srcShape) + " into " + Arrays.toString(dstShape));
        if (transpose && srcShape.length != 2) throw new IllegalArgumentException("transpose needs 2-d blocks");
    }

    long numel() {
        return Shapes.numel(srcShape);
    }

    /**
     * The chunks, each at most {@code capacity} elements, or empty when one transposed row alone exceeds it (the
     * caller then runs the copy elsewhere).
     */
    List<Chunk> chunks(long capacity) {
        if (capacity < 1) throw new IllegalArgumentException("capacity " + capacity);
        long total = numel();
        List<Chunk> out = new ArrayList<>();
        if (total == 0) return out;
        long step = capacity;
        if (transpose) {
            long cols = srcShape[1];
            if (cols > capacity) return out;
            step = capacity / cols * cols;
        }
        for (long first = 0; first < total; first += step) out.add(new Chunk(first, Math.min(step, total - first)));
        return out;
    }

    /** The destination runs of {@code chunk}'s device output, in chunk order, adjacent runs merged. */
    void scatter(Chunk chunk, RunSink sink) {
        Coalescing runs = new Coalescing(sink);
        if (transpose) {
            long cols = srcShape[1], k0 = chunk.first() / cols, k = chunk.count() / cols, dstCols = dstShape[1];
            for (long c = 0; c < cols; c++) runs.run(c * k, (dstOffsets[0] + c) * dstCols + dstOffsets[1] + k0, k);
        } else {
            boxRuns(chunk.first(), chunk.first() + chunk.count(), runs);
        }
        runs.flush();
    }

    /** Elements {@code [from, to)} of the block, row-major in {@code srcShape}, as runs of the destination box. */
    private void boxRuns(long from, long to, RunSink sink) {
        int n = srcShape.length;
        if (n == 0) {
            sink.run(0, 0, 1);
            return;
        }
        long[] strides = Shapes.contiguousStrides(dstShape);
        long len = srcShape[n - 1];
        long e = from;
        while (e < to) {
            long q = e / len, w = e % len;
            long d = dstOffsets[n - 1] + w;
            for (int i = n - 2; i >= 0; i--) {
                d += (dstOffsets[i] + q % srcShape[i]) * strides[i];
                q /= srcShape[i];
            }
            long run = Math.min(len - w, to - e);
            sink.run(e - from, d, run);
            e += run;
        }
    }

    /** Merges runs that continue each other in both the chunk and the destination (a box of whole rows is one run). */
    private static final class Coalescing implements RunSink {
        private final RunSink out;
        private long chunk = -1, dst, length;

        Coalescing(RunSink out) {
            this.out = out;
        }

        @Override
        public void run(long chunkElement, long dstElement, long len) {
            if (len == 0) return;
            if (chunk >= 0 && chunk + length == chunkElement && dst + length == dstElement) {
                length += len;
                return;
            }
            flush();
            chunk = chunkElement;
            dst = dstElement;
            length = len;
        }

        void flush() {
            if (chunk >= 0) out.run(chunk, dst, length);
            chunk = -1;
        }
    }
}
