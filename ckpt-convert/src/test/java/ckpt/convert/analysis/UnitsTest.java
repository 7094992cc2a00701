package ckpt.convert.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The one formatter of sizes and counts; expectations worked out by hand (and as du -h / ls -lh would print). */
class UnitsTest {
    @Test
    void bytesShowDecimalThenBinary() {
        assertThat(Units.bytes(5_684_563_859_980L)).isEqualTo("5.68 TB (5.17 TiB)");   // 5.68456e12 / 2^40 = 5.170
        assertThat(Units.bytes(112_425_298_583L)).isEqualTo("112.43 GB (104.70 GiB)");
        assertThat(Units.bytes(1_000)).isEqualTo("1.00 kB (1000 B)");
        assertThat(Units.bytes(1_024)).isEqualTo("1.02 kB (1.00 KiB)");
        assertThat(Units.bytes(999)).isEqualTo("999 B");
        assertThat(Units.bytes(0)).isEqualTo("0 B");
    }

    @Test
    void rangeUsesTheLargerEndsUnit() {
        assertThat(Units.range(298_996_660, 846_418_983)).isEqualTo("0.30–0.85 GB");
        assertThat(Units.range(846_418_983, 846_418_983)).isEqualTo("846.42 MB");
        assertThat(Units.range(10, 90)).isEqualTo("10–90 B");
        assertThat(Units.range(10, 900)).isEqualTo("0.01–0.90 kB");
        assertThat(Units.range(20_000_000, 50_000_000)).isEqualTo("20.00–50.00 MB");
    }

    @Test
    void parameterCountsAsModelCardsWriteThem() {
        assertThat(Units.params(8_030_261_248L)).isEqualTo("8.03 B");
        assertThat(Units.params(405_853_388_800L)).isEqualTo("405.9 B");
        assertThat(Units.params(70_553_706_496L)).isEqualTo("70.6 B");
        assertThat(Units.params(124_439_808L)).isEqualTo("124.4 M");
        assertThat(Units.params(1_500)).isEqualTo("1.50 K");
        assertThat(Units.params(999)).isEqualTo("999");
    }

    @Test
    void percentKeepsSmallSharesVisible() {
        assertThat(Units.percent(0.143)).isEqualTo("14.3%");
        assertThat(Units.percent(0.0046)).isEqualTo("0.46%");
        assertThat(Units.percent(0.000046)).isEqualTo("0.0046%");
        assertThat(Units.percent(0.0)).isEqualTo("0%");
        assertThat(Units.percent(1e-9)).isEqualTo("<0.0001%");
    }

    @Test
    void groupedAndFull() {
        assertThat(Units.grouped(16_128)).isEqualTo("16,128");
        assertThat(Units.full(112_425_298_583L)).isEqualTo("112,425,298,583 bytes (112.43 GB / 104.70 GiB)");
    }
}
