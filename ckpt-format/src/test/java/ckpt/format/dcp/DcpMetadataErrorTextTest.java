package ckpt.format.dcp;

import ckpt.format.FormatException;
import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * A .metadata whose first {@code torch.Size} (tensor f32 of dcp-variety, saved as (3, 5)) holds a hostile first entry:
 * the error is one short line in Python's words, quoting at most a capped excerpt of the input.
 */
class DcpMetadataErrorTextTest {
    private static final byte[] SIZE_GLOBAL = {(byte) 0x8c, 4, 'S', 'i', 'z', 'e', (byte) 0x94, (byte) 0x93, (byte) 0x94};

    @TempDir
    Path tmp;

    /** The fixture's .metadata with the opcode of the first torch.Size's first entry (K 3) replaced by {@code entry}. */
    private Path withFirstDim(byte[] entry) throws IOException {
        Path dir = Fixtures.copyTree(Fixtures.path("dcp-variety", "checkpoint"), tmp.resolve("c"));
        Path md = dir.resolve(".metadata");
        byte[] d = Files.readAllBytes(md);
        int at = indexOf(d, SIZE_GLOBAL) + SIZE_GLOBAL.length;
        assertThat(new byte[]{d[at], d[at + 1]}).containsExactly('K', 3);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(d, 0, at);
        out.writeBytes(entry);
        out.write(d, at + 2, d.length - at - 2);
        byte[] e = out.toByteArray();
        // protocol 4, one frame holding the rest of the file: its length follows the edit
        assertThat(e[2]).isEqualTo((byte) 0x95);
        ByteBuffer.wrap(e, 3, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(e.length - 11L);
        Files.write(md, e);
        return dir;
    }

    private static int indexOf(byte[] d, byte[] what) {
        outer:
        for (int i = 0; i + what.length <= d.length; i++) {
            for (int j = 0; j < what.length; j++) if (d[i + j] != what[j]) continue outer;
            return i;
        }
        throw new AssertionError("torch.Size not found");
    }

    private static String error(Path dir) {
        FormatException e = catchThrowableOfType(FormatException.class, () -> DcpMetadataReader.read(dir));
        assertThat(e).as("a FormatException").isNotNull();
        String m = e.getMessage();
        assertThat(m).contains(".metadata").doesNotContain("\n").doesNotContain("null").doesNotContain("Box(")
                .doesNotContainPattern("[A-Z][A-Za-z]*(Exception|Error)\\b");
        return m;
    }

    @Test
    void aLongStringAsDimensionIsQuotedCapped() throws IOException {
        byte[] s = new byte[5 + 100_000];
        s[0] = 'X';
        ByteBuffer.wrap(s, 1, 4).order(ByteOrder.LITTLE_ENDIAN).putInt(100_000);
        java.util.Arrays.fill(s, 5, s.length, (byte) 'A');
        String m = error(withFirstDim(s));
        assertThat(m).contains("torch.Size entry is not an int: 'AAAA").contains("… (100000 characters)");
        assertThat(m.length()).isLessThan(600);
    }

    @Test
    void aHugeIntAsDimensionIsQuotedCapped() throws IOException {
        byte[] s = new byte[5 + 4000];
        s[0] = (byte) 0x8b; // LONG4
        ByteBuffer.wrap(s, 1, 4).order(ByteOrder.LITTLE_ENDIAN).putInt(4000);
        java.util.Arrays.fill(s, 5, s.length, (byte) 0x7f);
        String m = error(withFirstDim(s));
        assertThat(m).contains("torch.Size entry is not an int: ").contains("characters)");
        assertThat(m.length()).isLessThan(600);
    }

    @Test
    void noneAsDimensionIsNamedAsPythonDoes() throws IOException {
        assertThat(error(withFirstDim(new byte[]{'N'}))).contains("torch.Size entry is not an int: None");
    }

    @Test
    void aNegativeDimensionIsRefusedWhereTheShapeIsRead() throws IOException {
        byte[] neg = {'J', (byte) 0xf9, (byte) 0xff, (byte) 0xff, (byte) 0xff}; // BININT -7
        assertThat(error(withFirstDim(neg))).contains("size torch.Size([-7, 5]) has a negative entry").contains("key f32");
    }

    @Test
    void aChunkOutsideTheShapeIsNamedInDcpWords() throws IOException {
        String m = error(withFirstDim(new byte[]{'K', 1})); // global (1, 5), the chunk still (3, 5)
        assertThat(m).contains("chunk at offsets [0, 0] of sizes [3, 5] lies outside the global shape [1, 5]");
    }
}
