package ckpt.format.megatron;

import ckpt.format.FormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A tracker of 4000 characters (under the 4096-byte limit) is quoted capped, not whole, in its one-line error. */
class SaveDirTrackerTextTest {
    @TempDir
    Path tmp;

    @Test
    void aLongGarbledTrackerIsQuotedCapped() throws IOException {
        Files.createDirectory(tmp.resolve("iter_0000004"));
        Files.writeString(tmp.resolve(SaveDir.TRACKER), "x".repeat(4000));
        assertThatThrownBy(() -> SaveDir.open(tmp).latest()).isInstanceOf(FormatException.class)
                .hasMessageContaining("tracker holds 'xxxx").hasMessageContaining("… (4000 characters)', neither an iteration number")
                .satisfies(e -> org.assertj.core.api.Assertions.assertThat(e.getMessage().length()).isLessThan(500));
    }
}
