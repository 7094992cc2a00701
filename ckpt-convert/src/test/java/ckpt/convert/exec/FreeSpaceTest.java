package ckpt.convert.exec;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A conversion that cannot fit on the output's file system is refused before anything is written. */
class FreeSpaceTest {
    @Test
    void refusesWhenTheOutputCannotFit() {
        Path staging = Path.of("/data/out/model.tmp-1");
        assertThatThrownBy(() -> Converter.requireSpace(staging, 8_000_000_000L, 7_000_000_000L))
                .isInstanceOf(ckpt.format.FormatException.class).hasMessageContaining("/data/out")
                .hasMessageContaining("not enough free space").hasMessageContaining("7,000,000,000");
    }

    @Test
    void acceptsWhenItFits() {
        assertThatCode(() -> Converter.requireSpace(Path.of("/data/out/x"), 1_000_000L, 100_000_000L)).doesNotThrowAnyException();
    }
}
