package ckpt.engine.cuda;

import ckpt.convert.exec.TensorKernels;
import ckpt.format.tensor.DType;
import ckpt.format.tensor.Shapes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The cuda engine's host side without a GPU: chunking, the overlapped slot pipeline and the scatter of chunk outputs
 * into destination boxes, run through a host {@link Staging} whose "device" converts with the java engine's own
 * contiguous kernels. The result must equal the java engine's {@code copyBox} byte for byte on random boxes, dtypes
 * and transposes, with buffers small enough to force many chunks (and a last partial one).
 */
class ChunkedCopyTest {
    private static final DType[] TYPES = {DType.FLOAT32, DType.BFLOAT16, DType.FLOAT16, DType.FLOAT64};

    /** A stand-in device: work happens at await time, as a stream's would happen some time before it. */
    static final class HostStaging implements Staging {
        final Arena arena = Arena.ofConfined();
        final long bytes;
        final MemorySegment[] in, out;
        final Runnable[] queued;
        final List<Integer> order = new ArrayList<>();

        HostStaging(int slots, long bytes) {
            this.bytes = bytes;
            in = new MemorySegment[slots];
            out = new MemorySegment[slots];
            queued = new Runnable[slots];
            for (int s = 0; s < slots; s++) {
                in[s] = arena.allocate(bytes, 8);
                out[s] = arena.allocate(bytes, 8);
            }
        }

        @Override public int slots() { return in.length; }
        @Override public long bufferBytes() { return bytes; }
        @Override public MemorySegment input(int slot) { return in[slot]; }
        @Override public MemorySegment output(int slot) { return out[slot]; }

        @Override
        public void submit(int slot, ElementCode codes, long count, long cols) {
            assertThat(queued[slot]).as("slot reused before its work was awaited").isNull();
            DType sd = type(codes.source()), dd = type(codes.target());
            order.add(slot);
            queued[slot] = () -> {
                if (cols > 0) {
                    long rows = count / cols;
                    TensorKernels.CPU.copyBox(in[slot], sd, new long[]{rows, cols}, out[slot], dd, new long[]{cols, rows}, new long[]{0, 0}, true);
                } else {
                    TensorKernels.CPU.copyBox(in[slot], sd, new long[]{count}, out[slot], dd, new long[]{count}, new long[]{0}, false);
                }
                // Poison the input: a chunk must be staged again before the slot is reused.
                in[slot].fill((byte) 0x5A);
            };
        }

        @Override
        public void await(int slot) {
            if (queued[slot] != null) queued[slot].run();
            queued[slot] = null;
        }

        static DType type(int code) {
            return switch (code) {
                case ElementCode.F32, ElementCode.RAW32 -> DType.FLOAT32;
                case ElementCode.BF16, ElementCode.RAW16 -> DType.BFLOAT16;
                case ElementCode.F16 -> DType.FLOAT16;
                case ElementCode.F64, ElementCode.RAW64 -> DType.FLOAT64;
                default -> DType.UINT8;
            };
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void equalsTheJavaEngineOnRandomBoxes(int slots) {
        Random rnd = new Random(1234 + slots);
        try (Arena arena = Arena.ofConfined()) {
            for (int trial = 0; trial < 300; trial++) {
                boolean transpose = rnd.nextInt(3) == 0;
                int rank = transpose ? 2 : rnd.nextInt(4);
                DType sd = TYPES[rnd.nextInt(4)], dd = rnd.nextInt(3) == 0 ? sd : TYPES[rnd.nextInt(4)];
                long[] block = new long[rank], dstShape = new long[rank], offsets = new long[rank];
                for (int i = 0; i < rank; i++) block[i] = 1 + rnd.nextInt(i == rank - 1 ? 40 : 6);
                long[] landed = transpose ? new long[]{block[1], block[0]} : block;
                for (int i = 0; i < rank; i++) {
                    dstShape[i] = landed[i] + rnd.nextInt(5);
                    offsets[i] = rnd.nextInt((int) (dstShape[i] - landed[i]) + 1);
                }
                long n = Shapes.numel(block);
                MemorySegment src = arena.allocate(n * sd.byteSize());
                for (long b = 0; b < src.byteSize(); b++) src.set(java.lang.foreign.ValueLayout.JAVA_BYTE, b, (byte) rnd.nextInt());
                long dstBytes = Shapes.numel(dstShape) * dd.byteSize();
                MemorySegment expected = arena.allocate(dstBytes), actual = arena.allocate(dstBytes);
                expected.fill((byte) 0x11);
                actual.fill((byte) 0x11);
                TensorKernels.CPU.copyBox(src, sd, block, expected, dd, dstShape, offsets, transpose);

                CopyJob job = new CopyJob(block, dstShape, offsets, transpose);
                long capacityBytes = 8L * (1 + rnd.nextInt(48));
                HostStaging staging = new HostStaging(slots, capacityBytes);
                List<CopyJob.Chunk> chunks = job.chunks(capacityBytes / Math.max(sd.byteSize(), dd.byteSize()));
                boolean ran = ChunkedCopy.run(job, chunks, staging, ElementCode.of(sd, dd).orElseThrow(), sd.byteSize(), dd.byteSize(), src, actual);
                if (!ran) {
                    assertThat(transpose).isTrue();
                    assertThat(block[1] * Math.max(sd.byteSize(), dd.byteSize())).isGreaterThan(capacityBytes);
                    continue;
                }
                assertThat(actual.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
                        .as("trial %d: %s -> %s block %s into %s at %s transpose=%s, %d chunks", trial, sd, dd,
                                java.util.Arrays.toString(block), java.util.Arrays.toString(dstShape), java.util.Arrays.toString(offsets), transpose, chunks.size())
                        .isEqualTo(expected.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                staging.arena.close();
            }
        }
    }

    @Test
    void chunksCoverTheBlockInOrderAndTransposedChunksHoldWholeRows() {
        CopyJob plain = new CopyJob(new long[]{3, 7}, new long[]{3, 7}, new long[]{0, 0}, false);
        assertThat(plain.chunks(8)).containsExactly(new CopyJob.Chunk(0, 8), new CopyJob.Chunk(8, 8), new CopyJob.Chunk(16, 5));
        CopyJob t = new CopyJob(new long[]{5, 3}, new long[]{3, 5}, new long[]{0, 0}, true);
        assertThat(t.chunks(7)).containsExactly(new CopyJob.Chunk(0, 6), new CopyJob.Chunk(6, 6), new CopyJob.Chunk(12, 3));
        assertThat(t.chunks(2)).as("a row wider than a chunk").isEmpty();
        assertThat(new CopyJob(new long[]{0, 3}, new long[]{0, 3}, new long[]{0, 0}, false).chunks(4)).isEmpty();
    }

    @Test
    void aBoxOfWholeRowsIsOneRunAndAColumnBoxIsOneRunPerRow() {
        List<long[]> runs = new ArrayList<>();
        new CopyJob(new long[]{2, 4}, new long[]{5, 4}, new long[]{1, 0}, false)
                .scatter(new CopyJob.Chunk(0, 8), (c, d, l) -> runs.add(new long[]{c, d, l}));
        assertThat(runs).containsExactly(new long[]{0, 4, 8});
        runs.clear();
        new CopyJob(new long[]{2, 2}, new long[]{2, 4}, new long[]{0, 1}, false)
                .scatter(new CopyJob.Chunk(1, 3), (c, d, l) -> runs.add(new long[]{c, d, l}));
        assertThat(runs).containsExactly(new long[]{0, 2, 1}, new long[]{1, 5, 2});
    }

    @Test
    void transposedChunkLandsAsOneRunPerSourceColumn() {
        // rows 2..3 of a [4, 3] block, transposed into a [3, 6] tensor at (0, 1): column c is dst[c][1+2 .. 1+4).
        List<long[]> runs = new ArrayList<>();
        new CopyJob(new long[]{4, 3}, new long[]{3, 6}, new long[]{0, 1}, true)
                .scatter(new CopyJob.Chunk(6, 6), (c, d, l) -> runs.add(new long[]{c, d, l}));
        assertThat(runs).containsExactly(new long[]{0, 3, 2}, new long[]{2, 9, 2}, new long[]{4, 15, 2});
    }
}
