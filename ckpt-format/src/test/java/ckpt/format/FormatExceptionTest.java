package ckpt.format;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link FormatException#under}: an error raised where only the tensor was known (found by the fuzzer: "pieces
 * cover 0 of … elements" with no file) names the checkpoint, and keeps its key and detail.
 */
class FormatExceptionTest {
    @TempDir
    Path tmp;

    @Test
    void anErrorWithoutAFileNamesTheCheckpointAndKeepsItsKey() {
        FormatException e = FormatException.atKey(null, "decoder.w", "pieces cover 0 of 8 elements");
        FormatException placed = e.under(tmp);
        assertThat(placed.file()).isEqualTo(tmp);
        assertThat(placed.key()).isEqualTo("decoder.w");
        assertThat(placed.getMessage()).isEqualTo(tmp + ": pieces cover 0 of 8 elements (key decoder.w)");
    }

    @Test
    void aRelativeFileIsResolvedInADirectoryAndAFileCheckpointNamesItself() throws Exception {
        FormatException e = FormatException.atKey(Path.of("__0_0.distcp"), "w", "a piece holds BF16, the tensor is F32");
        assertThat(e.under(tmp).file()).isEqualTo(tmp.resolve("__0_0.distcp"));
        Path pt = Files.writeString(tmp.resolve("model.pt"), "x");
        assertThat(e.under(pt).file()).isEqualTo(pt);
        FormatException absolute = new FormatException(tmp.resolve("a"), "detail");
        assertThat(absolute.under(tmp)).isSameAs(absolute);
    }

    /** {@code ckpt verify leg/iter_4}: a reader that opened {@code leg/iter_4/mp_rank_01/x.pt} is named once, not twice. */
    @Test
    void aRelativeFileAlreadyUnderARelativeDirIsNotResolvedTwice() throws Exception {
        Path cwd = Path.of("").toAbsolutePath();
        Path dir = cwd.relativize(Files.createDirectories(tmp.resolve("leg/iter_4")));
        FormatException e = new FormatException(dir.resolve("mp_rank_01/x.pt"), "storage record x holds 8 bytes");
        assertThat(e.under(dir)).isSameAs(e);
        assertThat(e.under(dir).getMessage()).startsWith(dir.resolve("mp_rank_01/x.pt") + ": ");
    }

    @Test
    void aDetailOrKeyQuotingTooMuchInputIsCappedToOneShortLine() {
        String key = "k".repeat(50_000);
        FormatException e = FormatException.atKey(java.nio.file.Path.of("x.metadata"), key, "bad " + "v".repeat(100_000));
        org.assertj.core.api.Assertions.assertThat(e.getMessage()).startsWith("x.metadata: bad vvv")
                .contains("… (100004 characters)").contains("(key kkk").contains("… (50000 characters)");
        org.assertj.core.api.Assertions.assertThat(e.getMessage().length()).isLessThan(1500);
        org.assertj.core.api.Assertions.assertThat(ckpt.format.InputText.excerpt("short")).isEqualTo("short");
    }
}
