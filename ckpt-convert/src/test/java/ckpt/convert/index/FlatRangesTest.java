package ckpt.convert.index;

import ckpt.format.tensor.Box;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Flat runs of a row-major tensor as boxes: checked element by element against the run itself. */
class FlatRangesTest {
    @Test
    void everyRunOfA3dTensorIsTiledInOrder() {
        long[] shape = {3, 4, 5};
        for (long from = 0; from <= 60; from++) {
            for (long to = from; to <= 60; to++) {
                List<Box> boxes = FlatRanges.boxes(shape, from, to);
                assertThat(boxes.size()).isLessThanOrEqualTo(5);
                long next = from;
                for (Box b : boxes) {
                    // The box's elements in row-major order are consecutive flat indices starting at next.
                    for (long i = 0; i < b.size(0); i++)
                        for (long j = 0; j < b.size(1); j++)
                            for (long k = 0; k < b.size(2); k++) {
                                long flat = (b.offset(0) + i) * 20 + (b.offset(1) + j) * 5 + (b.offset(2) + k);
                                assertThat(flat).as("[%d,%d) box %s", from, to, b).isEqualTo(next++);
                            }
                }
                assertThat(next).isEqualTo(to);
            }
        }
    }

    @Test
    void scalarAndEmpty() {
        assertThat(FlatRanges.boxes(new long[0], 0, 1)).containsExactly(new Box(new long[0], new long[0]));
        assertThat(FlatRanges.boxes(new long[]{0, 4}, 0, 0)).isEmpty();
    }
}
