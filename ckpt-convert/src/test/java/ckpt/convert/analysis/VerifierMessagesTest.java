package ckpt.convert.analysis;

import ckpt.format.InputText;
import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The words of verify's problem lines: the file first, what is wrong in user terms, no Java names, bounded length. */
class VerifierMessagesTest {
    @TempDir
    Path tmp;

    @Test
    void megatronMetadataCutMidwayIsATruncatedPickleNotAnOpcode() throws Exception {
        Path save = Fixtures.copyTree(Fixtures.path("megatron-llama-tp2/checkpoint"), tmp.resolve("save"));
        Path metadata = save.resolve("iter_0000004/.metadata");
        long size;
        try (RandomAccessFile f = new RandomAccessFile(metadata.toFile(), "rw")) {
            size = f.length();
            f.setLength(size / 2);
        }
        VerifyReport r = new Verifier(false, VerifyProgress.NONE).verify(save);
        assertThat(r.sound()).isFalse();
        Problem p = r.problems().stream().filter(x -> x.file().equals(metadata.toString())).findFirst().orElseThrow();
        // protocol 4: one frame holds the whole pickle, so the cut is found at the frame header
        assertThat(p.what()).isEqualTo("unreadable .metadata (an incomplete save?): truncated pickle: a frame of " + (size - 11)
                + " bytes runs past the end of the data (" + (size / 2 - 11) + " bytes left) (pickle opcode FRAME) (at byte 2)");
        assertThat(p.toString()).startsWith(metadata + ": unreadable .metadata");
    }

    @Test
    void aHostileKeyIsQuotedCappedInTheProblemLine() {
        String key = "k".repeat(100_000);
        Problem p = new Problem("/ckpt/model.safetensors", key, "tensor not tiled exactly once: a gap");
        assertThat(p.toString()).startsWith("/ckpt/model.safetensors: tensor not tiled exactly once: a gap (key kkk")
                .endsWith("… (100000 characters))").hasSizeLessThan(300 + InputText.MAX_QUOTED);
        assertThat(p.key()).isEqualTo(key); // JSON keeps the key as it is: a consumer matches on it
    }

    @Test
    void ioReasonsAreWordsNotPathsOrClassNames() {
        assertThat(IoReason.of(new NoSuchFileException("/x/a.distcp"))).isEqualTo("no such file or directory");
        assertThat(IoReason.of(new AccessDeniedException("/x/a.distcp"))).isEqualTo("permission denied");
        assertThat(IoReason.of(new FileSystemException("/x/a.distcp", null, "Is a directory"))).isEqualTo("Is a directory");
        assertThat(IoReason.of(new FileSystemException("/x/a.distcp"))).isEqualTo("I/O error");
        assertThat(IoReason.of(new UncheckedIOException(new IOException("Input/output error")))).isEqualTo("Input/output error");
        assertThat(IoReason.of(new IOException("first\nsecond"))).isEqualTo("first");
        assertThat(IoReason.of(new IOException())).isEqualTo("I/O error");
    }
}
