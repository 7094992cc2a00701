package ckpt.convert.assembly;

import ckpt.format.tensor.DType;
import ckpt.format.tensor.StridedView;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A box is written straight from storage only when it is one run in both tensors; every other box is copied run by
 * run, and {@link StridedCopy#copy} writes the same bytes either way.
 */
class StridedCopyTest {
    /** A [4, 6] float32 storage holding 0..23. */
    private static MemorySegment storage(Arena a) {
        MemorySegment s = a.allocate(24 * 4L);
        for (int i = 0; i < 24; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, i);
        return s;
    }

    @Test
    void rowsOfAContiguousTensorAreOneRunAtTheirPlace() {
        try (Arena a = Arena.ofConfined()) {
            StridedView v = StridedView.contiguous(storage(a), DType.FLOAT32, new long[]{4, 6});
            // rows 1..2 into rows 2..3 of a [5, 6] destination
            StridedCopy.SingleRun r = StridedCopy.singleRun(v, new long[]{1, 0}, new long[]{2, 6}, new long[]{5, 6}, new long[]{2, 0});
            assertThat(r).isEqualTo(new StridedCopy.SingleRun(6 * 4, 12 * 4, 12 * 4));
            // one element, and nothing
            assertThat(StridedCopy.singleRun(v, new long[]{3, 5}, new long[]{1, 1}, new long[]{1, 1}, new long[]{0, 0}))
                    .isEqualTo(new StridedCopy.SingleRun(23 * 4, 0, 4));
            assertThat(StridedCopy.singleRun(v, new long[]{0, 0}, new long[]{0, 6}, new long[]{0, 6}, new long[]{0, 0}).bytes()).isZero();
        }
    }

    @Test
    void columnBlocksAndTransposedStorageAreNotOneRunAndCopyTheSame() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = storage(a);
            StridedView v = StridedView.contiguous(s, DType.FLOAT32, new long[]{4, 6});
            // columns 2..3 of every row: contiguous rows in the [4, 2] destination, strided in the source
            assertThat(StridedCopy.singleRun(v, new long[]{0, 2}, new long[]{4, 2}, new long[]{4, 2}, new long[]{0, 0})).isNull();
            // whole rows of the source into a column block of a wider destination
            assertThat(StridedCopy.singleRun(v, new long[]{0, 0}, new long[]{4, 6}, new long[]{4, 8}, new long[]{0, 1})).isNull();
            // the storage read as its transpose [6, 4]
            StridedView t = new StridedView(s, DType.FLOAT32, 0, new long[]{6, 4}, new long[]{1, 6});
            assertThat(StridedCopy.singleRun(t, new long[]{0, 0}, new long[]{6, 4}, new long[]{6, 4}, new long[]{0, 0})).isNull();
            MemorySegment dst = a.allocate(24 * 4L);
            StridedCopy.copy(t, new long[]{0, 0}, new long[]{6, 4}, dst, new long[]{6, 4}, new long[]{0, 0});
            for (int c = 0; c < 6; c++)
                for (int r = 0; r < 4; r++)
                    assertThat(dst.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, c * 4L + r)).isEqualTo(r * 6 + c);
        }
    }
}
