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

    /** A torch.save zip whose pickle calls a global with a 100 kB module name: named as a problem, quoted capped. */
    @Test
    void aHostileGlobalNameIsQuotedCapped() throws Exception {
        java.io.ByteArrayOutputStream pk = new java.io.ByteArrayOutputStream();
        pk.write(new byte[]{(byte) 0x80, 2, 'c'});
        pk.write("m".repeat(100_000).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        pk.write("\nf\nX\u0002\u0000\u0000\u0000id\u0085R.".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        Path pt = tmp.resolve("hostile.pt");
        try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(java.nio.file.Files.newOutputStream(pt))) {
            stored(z, "archive/data.pkl", pk.toByteArray()); // torch.save's layout: stored entries
            stored(z, "archive/byteorder", "little".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            stored(z, "archive/version", "3\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
        VerifyReport r = new Verifier(false, VerifyProgress.NONE).verify(pt);
        assertThat(r.problems()).as("%s", r.problems()).anyMatch(x -> x.what().startsWith("pickle references global "));
        Problem p = r.problems().stream().filter(x -> x.what().startsWith("pickle references global ")).findFirst().orElseThrow();
        assertThat(p.file()).isEqualTo(pt.toString());
        assertThat(p.what()).contains("mmm… (100002 characters)").hasSizeLessThan(600);
    }

    /**
     * An unsafe global's line says where it is in words: the offset counts from the start of the zip's pickle record,
     * so the record is named; no opcode mnemonic or hex.
     */
    @Test
    void anUnsafeGlobalIsPlacedInItsPickleRecord() throws Exception {
        byte[] pk = "\u0080\u0002cos\nsystem\nX\u0002\u0000\u0000\u0000id\u0085R.".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        Path pt = tmp.resolve("os_system.pt");
        try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(java.nio.file.Files.newOutputStream(pt))) {
            stored(z, "archive/data.pkl", pk);
            stored(z, "archive/byteorder", "little".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            stored(z, "archive/version", "3\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
        VerifyReport r = new Verifier(false, VerifyProgress.NONE).verify(pt);
        Problem p = r.problems().stream().filter(x -> x.what().startsWith("pickle references global ")).findFirst().orElseThrow();
        assertThat(p.what()).startsWith("pickle references global os.system (at byte 2 of archive/data.pkl), outside ")
                .doesNotContain("0x").doesNotContain("GLOBAL");
    }

    private static void stored(java.util.zip.ZipOutputStream z, String name, byte[] data) throws IOException {
        java.util.zip.ZipEntry e = new java.util.zip.ZipEntry(name);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(data);
        e.setMethod(java.util.zip.ZipEntry.STORED);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        e.setCrc(crc.getValue());
        z.putNextEntry(e);
        z.write(data);
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
