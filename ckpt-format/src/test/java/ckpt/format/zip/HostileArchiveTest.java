package ckpt.format.zip;

import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static java.nio.file.StandardOpenOption.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Damaged and hostile archives, always built as in-memory copies: each must end in a ZipFormatException. */
class HostileArchiveTest {
    private static final Path NAME = Path.of("hostile.pt");

    @TempDir
    Path tmp;

    private static byte[] fixture(String relative) throws IOException {
        return Files.readAllBytes(Fixtures.path(relative));
    }

    private static ZipArchive open(byte[] bytes) {
        return ZipArchive.open(NAME, MemorySegment.ofArray(bytes));
    }

    @Test
    void truncatedAtEveryLengthIsAZipFormatException() throws Exception {
        for (String f : new String[]{"torch-save/files/zip_single_tensor.pt", "megatron-llama3-8b-meta/reference/item_small.bin"}) {
            byte[] whole = fixture(f);
            assertThat(open(whole).entries()).isNotEmpty();
            for (int n = 0; n < whole.length; n++) {
                byte[] cut = Arrays.copyOf(whole, n);
                assertThatThrownBy(() -> open(cut)).as(f + " cut to " + n).isInstanceOf(ZipFormatException.class);
            }
        }
    }

    @Test
    void windowStartingLateIsAZipFormatException() throws Exception {
        byte[] whole = fixture("torch-save/files/zip_single_tensor.pt");
        for (int k = 1; k < whole.length; k++) {
            byte[] late = Arrays.copyOfRange(whole, k, whole.length);
            assertThatThrownBy(() -> open(late)).as("window from " + k).isInstanceOf(ZipFormatException.class);
        }
    }

    /** Any single damaged byte: the archive either still opens (then reading it cannot fail) or is rejected cleanly. */
    @Test
    void everySingleByteCorruptionIsHandled() throws Exception {
        byte[] whole = fixture("torch-save/files/zip_single_tensor.pt");
        int rejected = 0;
        for (int i = 0; i < whole.length; i++) {
            for (int v : new int[]{0x00, 0xFF, whole[i] ^ 0x01, whole[i] ^ 0x80}) {
                byte[] bad = whole.clone();
                bad[i] = (byte) v;
                ZipArchive zip;
                try {
                    zip = open(bad);
                } catch (ZipFormatException expected) {
                    rejected++;
                    continue;
                }
                for (ZipEntryInfo e : zip.entries()) {
                    if (e.isStored()) {
                        zip.data(e);
                        zip.crc32(e);
                    }
                }
                zip.prefix();
            }
        }
        assertThat(rejected).isPositive();
    }

    @Test
    void legacyTorchSaveIsNotAZip() throws Exception {
        assertThatThrownBy(() -> open(fixture("torch-save/files/legacy_nonzip.pt")))
                .isInstanceOf(ZipFormatException.class).hasMessageContaining("not a zip archive");
        assertThatThrownBy(() -> open(new byte[0])).isInstanceOf(ZipFormatException.class).hasMessageContaining("not a zip archive");
    }

    @Test
    void pathTraversalNamesAreRejected() throws Exception {
        for (String name : new String[]{"../../x", "archive/../../x", "/etc/passwd", "archive\\..\\..\\x", "C:/x"}) {
            byte[] zip = jdkZip(name, "payload".getBytes(StandardCharsets.US_ASCII), ZipEntry.STORED);
            assertThatThrownBy(() -> open(zip)).as(name).isInstanceOf(ZipFormatException.class)
                    .hasMessageContaining(NAME.toString()).hasMessageContaining(name);
        }
        assertThatThrownBy(() -> open(jdkZip("../../x", new byte[1], ZipEntry.STORED))).hasMessageContaining("'..'");
    }

    @Test
    void centralDirectoryOutsideTheWindow() throws Exception {
        byte[] torch = fixture("torch-save/files/zip_single_tensor.pt");
        int z64 = torch.length - 22 - 20 - 56;
        assertThat(le(torch).getInt(z64)).isEqualTo(0x06064b50);
        byte[] bad = torch.clone();
        le(bad).putLong(z64 + 48, 1L << 40);
        assertThatThrownBy(() -> open(bad)).isInstanceOf(ZipFormatException.class).hasMessageContaining("central directory");
        byte[] bad2 = torch.clone();
        le(bad2).putLong(z64 + 40, 1L << 40);
        assertThatThrownBy(() -> open(bad2)).isInstanceOf(ZipFormatException.class).hasMessageContaining("central directory");
        byte[] bad3 = torch.clone();
        le(bad3).putLong(z64 + 48, -5);
        assertThatThrownBy(() -> open(bad3)).isInstanceOf(ZipFormatException.class);

        // a classic (non-zip64) archive: offset in the end record
        byte[] plain = jdkZip("archive/data.pkl", new byte[10], ZipEntry.STORED);
        int end = plain.length - 22;
        assertThat(le(plain).getInt(end)).isEqualTo(0x06054b50);
        byte[] bad4 = plain.clone();
        le(bad4).putInt(end + 16, 0x7FFF0000);
        assertThatThrownBy(() -> open(bad4)).isInstanceOf(ZipFormatException.class).hasMessageContaining("central directory");
    }

    @Test
    void wrongLocalHeaderSignature() throws Exception {
        byte[] bad = fixture("torch-save/files/zip_single_tensor.pt");
        assertThat(le(bad).getInt(230)).isEqualTo(0x04034b50); // .format_version's local header (structure.json)
        bad[230] = 'X';
        assertThatThrownBy(() -> open(bad)).isInstanceOf(ZipFormatException.class)
                .hasMessageContaining("no local header signature").hasMessageContaining(".format_version");
    }

    @Test
    void absurdEntryCount() throws Exception {
        byte[] bad = fixture("torch-save/files/zip_single_tensor.pt");
        int z64 = bad.length - 22 - 20 - 56;
        le(bad).putLong(z64 + 24, 1_000_000_000_000L).putLong(z64 + 32, 1_000_000_000_000L);
        assertThatThrownBy(() -> open(bad)).isInstanceOf(ZipFormatException.class).hasMessageContaining("absurd entry count");
    }

    @Test
    void duplicateEntryNames() throws Exception {
        Path file = tmp.resolve("dup.pt");
        try (FileChannel ch = FileChannel.open(file, CREATE_NEW, READ, WRITE); TorchZipWriter w = new TorchZipWriter(ch, 0, "archive")) {
            w.addSmall("a1", new byte[3]);
            w.addSmall("a2", new byte[3]);
        }
        byte[] bytes = Files.readAllBytes(file);
        String s = new String(bytes, StandardCharsets.ISO_8859_1).replace("archive/a2", "archive/a1");
        assertThatThrownBy(() -> open(s.getBytes(StandardCharsets.ISO_8859_1)))
                .isInstanceOf(ZipFormatException.class).hasMessageContaining("duplicate entry name archive/a1");
    }

    @Test
    void unsupportedMethodAndEncryption() throws Exception {
        byte[] zip = fixture("torch-save/files/zip_single_tensor.pt");
        int cen = indexOf(zip, new byte[]{'P', 'K', 1, 2}, 0);
        byte[] bad = zip.clone();
        le(bad).putShort(cen + 10, (short) 12);
        assertThatThrownBy(() -> open(bad)).isInstanceOf(ZipFormatException.class).hasMessageContaining("compression method 12");
        byte[] enc = zip.clone();
        le(enc).putShort(cen + 8, (short) (le(enc).getShort(cen + 8) | 1));
        assertThatThrownBy(() -> open(enc)).isInstanceOf(ZipFormatException.class).hasMessageContaining("encrypted");
    }

    @Test
    void deflatedEntriesStreamButDoNotMap() throws Exception {
        byte[] payload = new byte[300_000];
        Random rnd = new Random(3);
        for (int i = 0; i < payload.length; i++) payload[i] = (byte) ('a' + rnd.nextInt(4));
        byte[] zip = jdkZip("archive/data/0", payload, ZipEntry.DEFLATED);
        ZipArchive a = open(zip);
        ZipEntryInfo e = a.entry("archive/data/0").orElseThrow();
        assertThat(e.method()).isEqualTo(ZipEntryInfo.DEFLATED);
        assertThat(e.compressedSize()).isLessThan(e.size());
        try (InputStream in = a.inflated(e)) {
            assertThat(in.readAllBytes()).isEqualTo(payload);
        }
        CRC32 crc = new CRC32();
        crc.update(payload);
        assertThat(a.crc32(e)).isEqualTo(crc.getValue()).isEqualTo(e.crc());
        assertThatThrownBy(() -> a.data(e)).isInstanceOf(ZipFormatException.class).hasMessageContaining("DEFLATE-compressed").hasMessageNotContaining("inflated()");

        // the central directory understates the size: inflating must stop with an error, not run on
        int cen = indexOf(zip, new byte[]{'P', 'K', 1, 2}, 0);
        byte[] smaller = zip.clone();
        le(smaller).putInt(cen + 24, 1000);
        ZipArchive b = open(smaller);
        assertThatThrownBy(() -> b.inflated(b.entries().getFirst()).readAllBytes())
                .isInstanceOf(ZipFormatException.class).hasMessageContaining("more than");
        // the central directory overstates it
        byte[] larger = zip.clone();
        le(larger).putInt(cen + 24, payload.length + 1);
        ZipArchive c = open(larger);
        assertThatThrownBy(() -> c.inflated(c.entries().getFirst()).readAllBytes())
                .isInstanceOf(ZipFormatException.class).hasMessageContaining("inflates to");
        // garbage instead of deflate data
        ZipEntryInfo ce = a.entries().getFirst();
        byte[] garbage = zip.clone();
        Arrays.fill(garbage, (int) ce.dataOffset(), (int) (ce.dataOffset() + 64), (byte) 0xFF);
        ZipArchive d = open(garbage);
        assertThatThrownBy(() -> d.inflated(d.entries().getFirst()).readAllBytes()).isInstanceOf(ZipFormatException.class);
    }

    private static byte[] jdkZip(String name, byte[] data, int method) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ZipOutputStream zos = new ZipOutputStream(bos)) {
            ZipEntry e = new ZipEntry(name);
            e.setMethod(method);
            if (method == ZipEntry.STORED) {
                CRC32 crc = new CRC32();
                crc.update(data);
                e.setSize(data.length);
                e.setCompressedSize(data.length);
                e.setCrc(crc.getValue());
            }
            zos.putNextEntry(e);
            zos.write(data);
            zos.closeEntry();
        }
        return bos.toByteArray();
    }

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found");
    }
}
