package ckpt.convert.rotation;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DurationsTest {
    @Test
    void parsesScriptStyleDurations() {
        assertThat(Durations.parse("90s")).isEqualTo(Duration.ofSeconds(90));
        assertThat(Durations.parse("30m")).isEqualTo(Duration.ofMinutes(30));
        assertThat(Durations.parse("1h")).isEqualTo(Duration.ofHours(1));
        assertThat(Durations.parse("2d")).isEqualTo(Duration.ofDays(2));
        assertThat(Durations.parse("1h30m")).isEqualTo(Duration.ofMinutes(90));
        assertThat(Durations.parse("0s")).isZero();
    }

    @Test
    void refusesAnythingElse() {
        for (String s : new String[]{"", "1", "h", "1x", "-1h", "1.5h", "1 h", "1h 30m", "99999999999h"}) {
            assertThatThrownBy(() -> Durations.parse(s)).as(s).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void formatReadsBack() {
        assertThat(Durations.format(Duration.ofSeconds(93_784))).isEqualTo("1d2h3m4s");
        assertThat(Durations.format(Duration.ofHours(1))).isEqualTo("1h");
        assertThat(Durations.format(Duration.ZERO)).isEqualTo("0s");
    }
}
