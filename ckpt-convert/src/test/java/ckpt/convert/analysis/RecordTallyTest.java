package ckpt.convert.analysis;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Per-file payloads and distinct records, as the size analysis counts them. */
class RecordTallyTest {
    @Test
    void piecesOfOneRecordCountItOnce() {
        RecordTally t = new RecordTally();
        // a torch.save storage viewed twice (tied weights): two pieces, one record
        t.add("model.pt", 100, 64, 200);
        t.add("model.pt", 100, 64, 200);
        t.add("model.pt", 50, 300, 80);
        assertThat(t.distinctRecords()).isEqualTo(2);
        assertThat(t.payload("model.pt")).isEqualTo(250);
    }

    @Test
    void recordsAtOneOffsetDifferByLength() {
        RecordTally t = new RecordTally();
        t.add("a", 1, 0, 10);
        t.add("a", 1, 0, 20);
        t.add("a", 1, 0, 10);
        assertThat(t.distinctRecords()).isEqualTo(2);
    }

    @Test
    void filesAreCountedApartInAnyOrder() {
        RecordTally t = new RecordTally();
        // the same range in two files is two records; offsets out of order within a file
        for (int i = 40; i >= 0; i--) {
            t.add("__0_0.distcp", 4, i * 100L, 90);
            t.add("__1_0.distcp", 8, i * 100L, 90);
        }
        assertThat(t.distinctRecords()).isEqualTo(82);
        assertThat(t.payload("__0_0.distcp")).isEqualTo(41 * 4);
        assertThat(t.payload("__1_0.distcp")).isEqualTo(41 * 8);
        assertThat(t.payload("absent")).isZero();
        assertThat(t.files()).containsExactlyInAnyOrder("__0_0.distcp", "__1_0.distcp");
    }

    @Test
    void emptyTallyHasNoRecords() {
        assertThat(new RecordTally().distinctRecords()).isZero();
    }

    @Test
    void columnsGrowPastTheExpectedCountAndKeepFilesApart() {
        RecordTally t = new RecordTally(3);
        // 50 files interleaved, pieces arriving file after file as DCP chunks do; file 7 holds one record twice
        for (int i = 0; i < 5000; i++) t.add("__" + (i % 50) + "_0.distcp", 2, (i / 50) * 10L, 10);
        t.add("__7_0.distcp", 2, 0, 10);
        t.add("__7_0.distcp", 2, 0, 11);
        assertThat(t.distinctRecords()).isEqualTo(5001);
        assertThat(t.payload("__7_0.distcp")).isEqualTo(204);
        assertThat(t.payload("__8_0.distcp")).isEqualTo(200);
        assertThat(t.files()).hasSize(50);
    }
}
