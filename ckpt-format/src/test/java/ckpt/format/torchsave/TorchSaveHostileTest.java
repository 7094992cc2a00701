package ckpt.format.torchsave;

import ckpt.format.FormatException;
import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

/**
 * Damaged and foreign inputs: each ends in a {@link FormatException} naming the file — never an index, null-pointer
 * or memory error. Damaged copies of real fixtures are made in a temp dir; the fixtures are never touched.
 */
class TorchSaveHostileTest {
    @TempDir
    Path tmp;

    /** Every proper prefix of a real file: open and read every tensor, or fail with a FormatException. */
    @ParameterizedTest
    @ValueSource(strings = {"zip_single_tensor.pt", "legacy_nonzip.pt"})
    void truncationAtEveryOffset(String name) throws IOException {
        byte[] whole = Files.readAllBytes(TorchSaveFileTest.file(name));
        Path cut = tmp.resolve(name);
        for (int n = 0; n < whole.length; n++) {
            Files.write(cut, java.util.Arrays.copyOf(whole, n));
            try (TorchSaveFile f = TorchSaveFile.open(cut)) {
                fail("a " + n + "-byte prefix of " + name + " opened as " + f);
            } catch (FormatException e) {
                assertThat(e.getMessage()).as("prefix " + n).contains(cut.toString());
            } catch (RuntimeException | Error e) {
                throw new AssertionError("prefix " + n + " of " + name + " failed with " + e, e);
            }
        }
    }

    @Test
    void legacyElementCountOf2To40() throws IOException {
        byte[] b = legacy();
        // The first payload (key 799827344, int64 × 5) starts at byte 680 with its element count.
        assertThat(ByteBuffer.wrap(b, 680, 8).order(ByteOrder.LITTLE_ENDIAN).getLong()).isEqualTo(5);
        ByteBuffer.wrap(b, 680, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40);
        assertThatThrownBy(() -> TorchSaveFile.open(write("count.pt", b)))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("claims 1099511627776 elements")
                .hasMessageContaining("at byte 680");
    }

    @Test
    void legacyNegativeElementCount() throws IOException {
        byte[] b = legacy();
        ByteBuffer.wrap(b, 680, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(-1);
        assertThatThrownBy(() -> TorchSaveFile.open(write("negative.pt", b)))
                .isInstanceOf(FormatException.class).hasMessageContaining("claims 18446744073709551615 elements");
    }

    @Test
    void legacyPayloadShorterThanItsStorage() throws IOException {
        byte[] b = legacy();
        // The int64 storage is declared with numel 5 ("K\x05 N t"): claim 6, the payload still holds 5.
        replaceOnce(b, new byte[]{'K', 5, 'N', 't'}, new byte[]{'K', 6, 'N', 't'});
        assertThatThrownBy(() -> TorchSaveFile.open(write("short.pt", b)))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("storage 799827344 holds 5 elements but its tensors declare 6");
    }

    @Test
    void legacyViewPastItsStorage() throws IOException {
        byte[] b = legacy();
        // The int64 tensor's size tuple "(5,)" = "K\x05 \x85": make it 6 elements over a 5-element storage.
        replaceOnce(b, new byte[]{'K', 0, 'K', 5, (byte) 0x85}, new byte[]{'K', 0, 'K', 6, (byte) 0x85});
        assertThatThrownBy(() -> TorchSaveFile.open(write("view.pt", b)))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("int64 tensor of shape [6] on storage record data/799827344")
                .hasMessageContaining("needs 6 elements of its storage, which holds 5")
                .hasMessageNotContaining("tensor(");
    }

    @Test
    void legacyStorageViewMetadataIsRefused() throws IOException {
        byte[] b = legacy();
        // view_metadata None → () (EMPTY_TUPLE), as pre-0.4 files with storage views have a tuple there.
        replaceOnce(b, new byte[]{'K', 5, 'N', 't'}, new byte[]{'K', 5, ')', 't'});
        assertThatThrownBy(() -> TorchSaveFile.open(write("viewmeta.pt", b)))
                .isInstanceOf(FormatException.class).hasMessageContaining("view_metadata");
    }

    @Test
    void legacyBigEndianSysInfoIsRefused() throws IOException {
        byte[] b = legacy();
        assertThat(b[21 + 52]).isEqualTo((byte) 0x88); // NEWTRUE of little_endian in sys_info
        b[21 + 52] = (byte) 0x89;
        assertThatThrownBy(() -> TorchSaveFile.open(write("be.pt", b)))
                .isInstanceOf(FormatException.class).hasMessageContaining("big-endian");
    }

    @Test
    void legacyKeyListNamingAnUnknownStorage() throws IOException {
        byte[] b = legacy();
        // The key list starts at byte 624; change the first listed key 799827344 → 799827345.
        byte[] key = "799827344".getBytes(StandardCharsets.US_ASCII);
        int at = indexOf(b, key, 624);
        b[at + key.length - 1] = '5';
        assertThatThrownBy(() -> TorchSaveFile.open(write("keys.pt", b)))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("storage key 799827345 is listed but no tensor uses it");
    }

    @Test
    void zipStorageRecordShorterThanItsStorage() throws IOException {
        byte[] b = Files.readAllBytes(TorchSaveFileTest.file("zip_single_tensor.pt"));
        // data.pkl declares FloatStorage numel 7 ("K\x07 t"); claim 8 → 32 bytes over a 28-byte record.
        replaceOnce(b, new byte[]{'K', 7, 't'}, new byte[]{'K', 8, 't'});
        try (TorchSaveFile f = TorchSaveFile.open(write("zshort.pt", b))) {
            TensorRef t = (TensorRef) f.root();
            assertThatThrownBy(() -> f.view(t))
                    .isInstanceOf(FormatException.class)
                    .hasMessageContaining("holds 28 bytes, its tensor needs 32");
        }
    }

    @Test
    void zipViewPastItsStorage() throws IOException {
        byte[] b = Files.readAllBytes(TorchSaveFileTest.file("zip_single_tensor.pt"));
        replaceOnce(b, new byte[]{'K', 0, 'K', 7, (byte) 0x85}, new byte[]{'K', 0, 'K', 9, (byte) 0x85});
        assertThatThrownBy(() -> TorchSaveFile.open(write("zview.pt", b)))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("float32 tensor of shape [9] on storage record data/0")
                .hasMessageContaining("needs 9 elements of its storage, which holds 7")
                .hasMessageNotContaining("tensor(");
    }

    @Test
    void torchScriptArchive() throws IOException {
        Path p = tmp.resolve("scripted.pt");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(p))) {
            stored(z, "scripted/data.pkl", new byte[]{(byte) 0x80, 2, 'N', '.'});
            stored(z, "scripted/constants.pkl", new byte[]{(byte) 0x80, 2, ')', '.'});
            stored(z, "scripted/code/__torch__.py", "def forward(self):\n".getBytes(StandardCharsets.UTF_8));
            stored(z, "scripted/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        }
        assertThatThrownBy(() -> TorchSaveFile.open(p))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("TorchScript archive")
                .hasMessageContaining(p.toString());
    }

    @Test
    void preTwentyEighteenTarCheckpoint() throws IOException {
        byte[] tar = new byte[1024];
        byte[] member = "sys_info".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(member, 0, tar, 0, member.length);
        System.arraycopy("ustar\u000000".getBytes(StandardCharsets.US_ASCII), 0, tar, 257, 8);
        Path p = write("old.pt", tar);
        assertThatThrownBy(() -> TorchSaveFile.open(p))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("pre-2018 PyTorch tar checkpoint; re-save with torch >= 1.6");
    }

    @Test
    void pytorch1PreviewArchive() throws IOException {
        Path p = write("preview.pt", "PYTORCH1\0\0\0\0\0\0\0\0".getBytes(StandardCharsets.US_ASCII));
        assertThatThrownBy(() -> TorchSaveFile.open(p)).isInstanceOf(FormatException.class).hasMessageContaining("PYTORCH1");
    }

    @Test
    void somethingElse() throws IOException {
        Path p = write("notes.pt", "hello, world".getBytes(StandardCharsets.US_ASCII));
        assertThatThrownBy(() -> TorchSaveFile.open(p))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("not a torch.save file (expected a zip or legacy torch.save stream)");
    }

    @Test
    void plainPickleWithoutTorchMagic() throws IOException {
        // pickle.dumps({}, protocol=2)
        Path p = write("plain.pkl", new byte[]{(byte) 0x80, 2, '}', 'q', 0, '.'});
        assertThatThrownBy(() -> TorchSaveFile.open(p))
                .isInstanceOf(FormatException.class).hasMessageContaining("magic number");
    }

    @Test
    void zipWithoutDataPkl() throws IOException {
        Path p = tmp.resolve("other.zip");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(p))) {
            stored(z, "docs/readme.txt", "hi".getBytes(StandardCharsets.US_ASCII));
        }
        assertThatThrownBy(() -> TorchSaveFile.open(p))
                .isInstanceOf(FormatException.class).hasMessageContaining("not a torch.save file");
    }

    // ---- helpers ----

    private static byte[] legacy() throws IOException {
        return Files.readAllBytes(TorchSaveFileTest.file("legacy_nonzip.pt"));
    }

    private Path write(String name, byte[] b) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, b);
        return p;
    }

    private static void stored(ZipOutputStream z, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        z.putNextEntry(e);
        ((OutputStream) z).write(data);
        z.closeEntry();
    }

    /** Replaces the only occurrence of {@code from} (fails if there is not exactly one). */
    private static void replaceOnce(byte[] b, byte[] from, byte[] to) {
        int at = indexOf(b, from, 0);
        assertThat(at).as("pattern present").isGreaterThanOrEqualTo(0);
        assertThat(indexOf(b, from, at + 1)).as("pattern unique").isEqualTo(-1);
        System.arraycopy(to, 0, b, at, to.length);
    }

    private static int indexOf(byte[] b, byte[] pattern, int from) {
        outer:
        for (int i = from; i <= b.length - pattern.length; i++) {
            for (int j = 0; j < pattern.length; j++) if (b[i + j] != pattern[j]) continue outer;
            return i;
        }
        return -1;
    }
}
