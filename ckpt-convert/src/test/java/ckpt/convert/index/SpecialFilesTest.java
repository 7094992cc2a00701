package ckpt.convert.index;

import ckpt.convert.analysis.Verifier;
import ckpt.convert.analysis.VerifyReport;
import ckpt.format.FormatException;
import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** Issue #12 item 4: FIFOs and devices among a checkpoint's files are refused by name, up front, without blocking. */
class SpecialFilesTest {
    @TempDir
    Path tmp;

    private static void mkfifo(Path p) throws IOException, InterruptedException {
        Files.deleteIfExists(p);
        Process proc = new ProcessBuilder("mkfifo", p.toString()).inheritIO().start();
        assertThat(proc.waitFor()).isZero();
    }

    private Path copy() throws IOException {
        return Fixtures.copyTree(Fixtures.path("dcp-fsdp2/checkpoint"), tmp.resolve("dcp"));
    }

    @Test
    void aDataFileThatIsAFifoIsRefusedByName() throws Exception {
        Path dir = copy();
        Path fifo = dir.resolve("__1_0.distcp");
        mkfifo(fifo);
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            assertThatThrownBy(() -> Checkpoints.open(dir)).isInstanceOf(FormatException.class)
                    .hasMessageContaining(fifo.toString()).hasMessageContaining("FIFO");
            VerifyReport r = new Verifier(true, null).verify(dir);
            assertThat(r.sound()).isFalse();
            assertThat(r.problems()).anySatisfy(p -> {
                assertThat(p.file()).isEqualTo(fifo.toString());
                assertThat(p.what()).contains("FIFO");
            });
        });
    }

    @Test
    void metadataThatIsAFifoOrALinkToADeviceIsNotAnInterruptedSave() throws Exception {
        Path dir = copy();
        Path metadata = dir.resolve(".metadata");
        mkfifo(metadata);
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            assertThatThrownBy(() -> Checkpoints.open(dir)).isInstanceOf(FormatException.class)
                    .hasMessageContaining("FIFO").hasMessageNotContaining("interrupted");
            assertThat(new Verifier(false, null).verify(dir).problems())
                    .allSatisfy(p -> assertThat(p.what()).doesNotContain("interrupted")).isNotEmpty();
        });
        Files.delete(metadata);
        Files.createSymbolicLink(metadata, Path.of("/dev/zero"));
        assertTimeoutPreemptively(Duration.ofSeconds(20), () ->
                assertThatThrownBy(() -> Checkpoints.open(dir)).isInstanceOf(FormatException.class)
                        .hasMessageContaining(".metadata").hasMessageContaining("character device"));
    }

    @Test
    void aTorchSaveFileThatIsAFifoIsRefused() throws Exception {
        Path fifo = tmp.resolve("model.pt");
        mkfifo(fifo);
        assertTimeoutPreemptively(Duration.ofSeconds(20), () ->
                assertThatThrownBy(() -> Checkpoints.open(fifo)).isInstanceOf(FormatException.class).hasMessageContaining("FIFO"));
    }
}
