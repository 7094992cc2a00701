package ckpt.format.dcp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The columns' presize from the {@code .metadata} size: proportional to the file and capped, taken only by a file
 * that already has more rows than the arrays start with, given to one dict sink only, and growth past it doubling
 * with every row kept.
 */
class DcpColumnsPresizeTest {
    @Test
    void presizeIsProportionalToTheFileAndCapped() {
        assertThat(DcpColumns.presizeRows(0)).isZero();
        assertThat(DcpColumns.presizeRows(-5)).isZero();
        assertThat(DcpColumns.presizeRows(128 * 1000)).isEqualTo(1000);
        assertThat(DcpColumns.presizeRows(208_020_408)).isEqualTo(1_625_159);
        // a huge (or hostile) size never asks for more than the cap
        assertThat(DcpColumns.presizeRows(40L << 30)).isEqualTo(DcpColumns.MAX_PRESIZE_ROWS);
        assertThat(DcpColumns.presizeRows(Long.MAX_VALUE)).isEqualTo(DcpColumns.MAX_PRESIZE_ROWS);
    }

    @Test
    void aFileWithFewRowsKeepsTheSmallArraysWhateverItsSize() {
        DcpColumns c = new DcpColumns(1L << 40);
        for (int i = 0; i < 200; i++) {
            c.addBox(new long[] {i, 0}, new long[] {1, 8});
            c.addKey("w", new long[] {i, 0});
            c.addRecord("__0_0.distcp", i * 16L, 16, List.of());
        }
        assertThat(c.capacities()).containsExactly(1024, 257, 256, 512, 256);
    }

    @Test
    void arraysJumpToThePresizeOnceThenDoubleKeepingEveryRow() {
        DcpColumns c = new DcpColumns(128 * 1000);
        int rows = 2500;
        for (int i = 0; i < rows; i++) {
            c.addBox(new long[] {i, 1, 2}, new long[] {1, 8, 9});
            c.addKey("w" + (i % 7), new long[] {i, 1, 2});
            c.addRecord("__" + (i % 3) + "_0.distcp", i * 16L, 16 + i, List.of());
            if (i == 999) assertThat(c.capacities()).containsExactly(6000, 1001, 1000, 3000, 1000);
        }
        assertThat(c.capacities()).containsExactly(24000, 4004, 4000, 12000, 4000);
        for (int i = 0; i < rows; i++) {
            assertThat(c.boxOffsets(i)).containsExactly(i, 1, 2);
            assertThat(c.boxSizes(i)).containsExactly(1, 8, 9);
            assertThat(c.key(i)).isEqualTo(new MetadataIndex("w" + (i % 7), new long[] {i, 1, 2}));
            assertThat(c.keyHash(i)).isEqualTo(c.key(i).hashCode());
            assertThat(c.record(i)).isEqualTo(new StorageInfo("__" + (i % 3) + "_0.distcp", i * 16L, 16 + i, List.of()));
        }
    }

    @Test
    void withoutASizeTheArraysDouble() {
        DcpColumns c = new DcpColumns();
        for (int i = 0; i < 300; i++) c.addRecord("a", i, 1, List.of());
        assertThat(c.capacities()[4]).isEqualTo(512);
    }

    @Test
    void onlyTheFirstSunkDictIsPresized() {
        DcpColumns c = new DcpColumns(128 * 5000);
        Object storageData = new Object(), list = new Object(), otherDict = new Object();
        SunkItems chunks = c.sinkFor(list, false);
        SunkItems first = c.sinkFor(storageData, true);
        SunkItems second = c.sinkFor(otherDict, true);
        assertThat(c.sinkFor(storageData, true)).isSameAs(first);
        for (int i = 0; i < 20; i++) {
            chunks.addRows(i, 0);
            first.addRows(i, i);
            second.addRows(i, i);
        }
        assertThat(first.capacity()).isEqualTo(5000);
        assertThat(chunks.capacity()).isEqualTo(32);
        assertThat(second.capacity()).isEqualTo(32);
        for (int i = 0; i < 20; i++) assertThat(first.first(i)).isEqualTo(i);
    }
}
