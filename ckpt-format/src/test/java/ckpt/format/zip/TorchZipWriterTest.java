package ckpt.format.zip;

import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static java.nio.file.StandardOpenOption.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TorchZipWriterTest {
    @TempDir
    Path tmp;

    /** Writes torch's record set; the big storages are written through a mapped segment, not a stream. */
    private static Map<String, byte[]> writeTorchLike(FileChannel ch, long start, long[] storageSizes, long seed) throws IOException {
        Random rnd = new Random(seed);
        Map<String, byte[]> expected = new LinkedHashMap<>();
        byte[] pkl = new byte[150 + rnd.nextInt(50)];
        rnd.nextBytes(pkl);
        expected.put("data.pkl", pkl);
        expected.put(".format_version", "1".getBytes(StandardCharsets.US_ASCII));
        expected.put(".storage_alignment", "64".getBytes(StandardCharsets.US_ASCII));
        expected.put("byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        TorchZipWriter w = new TorchZipWriter(ch, start, "archive");
        for (var e : expected.entrySet()) w.addSmall(e.getKey(), e.getValue());
        long[] at = new long[storageSizes.length];
        for (int k = 0; k < storageSizes.length; k++) at[k] = w.reserve("data/" + k, storageSizes[k]);
        w.addSmall("version", "3\n".getBytes(StandardCharsets.US_ASCII));
        for (int k = 0; k < storageSizes.length; k++) {
            byte[] data = new byte[(int) storageSizes[k]];
            rnd.nextBytes(data);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment.copy(data, 0, ch.map(FileChannel.MapMode.READ_WRITE, at[k], data.length, arena), ValueLayout.JAVA_BYTE, 0, data.length);
            }
            CRC32 crc = new CRC32();
            crc.update(data);
            w.setCrc("data/" + k, crc.getValue());
            expected.put("data/" + k, data);
        }
        expected.put("version", "3\n".getBytes(StandardCharsets.US_ASCII));
        long len = w.finish();
        assertThat(w.finish()).isEqualTo(len);
        return expected;
    }

    private static final long[] SIZES = {1 << 20, 100, 3, 0, 777_777};
    private static final String[] ORDER = {"data.pkl", ".format_version", ".storage_alignment", "byteorder",
            "data/0", "data/1", "data/2", "data/3", "data/4", "version"};

    @Test
    void roundTripThroughOwnReaderAndJdkZipFile() throws Exception {
        Path file = tmp.resolve("model.pt");
        Map<String, byte[]> expected;
        try (FileChannel ch = FileChannel.open(file, CREATE_NEW, READ, WRITE)) {
            expected = writeTorchLike(ch, 0, SIZES, 1);
        }
        try (Arena arena = Arena.ofConfined()) {
            ZipArchive zip = ZipArchive.open(file, Fixtures.map(file, arena));
            checkOwnReader(zip, expected);
        }
        checkJdk(file, expected);
    }

    @Test
    void archiveAtAnOffsetInsideAFile() throws Exception {
        Path file = tmp.resolve("__0_0.distcp");
        long start = 1001; // deliberately not a multiple of 64: alignment is relative to the archive start
        Map<String, byte[]> expected;
        long end;
        try (FileChannel ch = FileChannel.open(file, CREATE_NEW, READ, WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[(int) start]), 0);
            expected = writeTorchLike(ch, start, SIZES, 2);
            end = ch.size();
        }
        try (Arena arena = Arena.ofConfined()) {
            ZipArchive zip = ZipArchive.open(file, start, Fixtures.map(file, start, end - start, arena));
            checkOwnReader(zip, expected);
        }
        Path copy = tmp.resolve("window.zip");
        try (FileChannel in = FileChannel.open(file, READ); FileChannel out = FileChannel.open(copy, CREATE_NEW, WRITE)) {
            in.transferTo(start, end - start, out);
        }
        checkJdk(copy, expected);
    }

    private static void checkOwnReader(ZipArchive zip, Map<String, byte[]> expected) {
        assertThat(zip.prefix()).isEqualTo("archive");
        assertThat(zip.entries()).extracting(ZipEntryInfo::name)
                .containsExactlyElementsOf(java.util.Arrays.stream(ORDER).map(n -> "archive/" + n).toList());
        for (ZipEntryInfo e : zip.entries()) {
            byte[] want = expected.get(e.name().substring("archive/".length()));
            assertThat(e.isStored()).isTrue();
            assertThat(e.size()).isEqualTo(want.length);
            assertThat(e.dataOffset() % 64).as(e.name()).isZero();
            CRC32 crc = new CRC32();
            crc.update(want);
            assertThat(e.crc()).isEqualTo(crc.getValue());
            assertThat(zip.crc32(e)).isEqualTo(crc.getValue());
            assertThat(zip.data(e).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(want);
        }
    }

    private static void checkJdk(Path file, Map<String, byte[]> expected) throws IOException {
        try (ZipFile jdk = new ZipFile(file.toFile())) {
            assertThat(jdk.stream().map(ZipEntry::getName).toList())
                    .containsExactlyElementsOf(java.util.Arrays.stream(ORDER).map(n -> "archive/" + n).toList());
            for (var e : expected.entrySet()) {
                ZipEntry z = jdk.getEntry("archive/" + e.getKey());
                assertThat(z.getMethod()).isEqualTo(ZipEntry.STORED);
                assertThat(z.getSize()).isEqualTo(e.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                assertThat(z.getCrc()).isEqualTo(crc.getValue());
                try (var in = jdk.getInputStream(z)) {
                    assertThat(in.readAllBytes()).isEqualTo(e.getValue()); // the JDK checks the CRC while reading too
                }
            }
        }
    }

    /**
     * The padding rule reproduces the data offsets PyTorch chose for all 815 × 7 records of the real 8B checkpoint
     * (offsets < 4 GiB, entries < 4 GiB there): given torch's header offset and name, the data start matches.
     */
    @Test
    void paddingRuleMatchesPyTorchOnTheReal8bLayout() {
        JsonNode items = Fixtures.gzippedJson("megatron-llama3-8b-meta/reference/items_zip_layout.json.gz",
                "b34235190e88acc3fc4a33b4d786588899c7a2d4a7fcf84e25e5bad3bdd493cc");
        int checked = 0;
        for (JsonNode item : items) {
            for (JsonNode m : item.get("members")) {
                long got = TorchZipWriter.alignedDataOffset(m.get("header_offset").asLong(), m.get("local_name_len").asInt(),
                        m.get("file_size").asLong());
                assertThat(got).isEqualTo(m.get("data_offset").asLong());
                checked++;
            }
        }
        assertThat(checked).isEqualTo(815 * 7);
    }

    /** §2.3 with a zip64 local extra: size ≥ 0xFFFFFFFF adds the 20-byte zip64 extra before FB. */
    @Test
    void paddingWithZip64LocalExtra() {
        long size = 5L << 30;
        // header at 0, name "archive/data/0" (14): 30 + 14 + 20 + 4 = 68 -> 128
        assertThat(TorchZipWriter.alignedDataOffset(0, 14, size)).isEqualTo(128);
        assertThat(TorchZipWriter.alignedDataOffset(0, 14, 0xFFFFFFFEL)).isEqualTo(64);
        assertThat(TorchZipWriter.alignedDataOffset(0, 14, 0xFFFFFFFFL)).isEqualTo(128);
    }

    /**
     * A 5 GiB record in a sparse file starting at 5 GiB: the record after it has a local header offset ≥ 4 GiB, so
     * both zip64 extra fields (sizes, offset) and the zip64 end record are exercised, without writing gigabytes.
     */
    @Test
    void zip64InASparseFile() throws Exception {
        Path file = tmp.resolve("big.distcp");
        long start = 5L << 30, big = (5L << 30) + 3;
        byte[] tail = "tail-bytes".getBytes(StandardCharsets.US_ASCII);
        long len, bigAt, tailAt;
        long bigCrc = crcOfZerosThen42(big);
        try (FileChannel ch = FileChannel.open(file, CREATE_NEW, READ, WRITE)) {
            TorchZipWriter w = new TorchZipWriter(ch, start, "archive");
            w.addSmall("data.pkl", new byte[]{(byte) 0x80, 2, 'N', '.'});
            bigAt = w.reserve("data/0", big);
            tailAt = w.reserve("data/1", tail.length);
            w.addSmall("version", "3\n".getBytes(StandardCharsets.US_ASCII));
            // the big record stays a hole (all zeros) except its last byte
            ch.write(ByteBuffer.wrap(new byte[]{42}), bigAt + big - 1);
            ch.write(ByteBuffer.wrap(tail), tailAt);
            w.setCrc("data/0", bigCrc);
            CRC32 c = new CRC32();
            c.update(tail);
            w.setCrc("data/1", c.getValue());
            len = w.finish();
        }
        assertThat(Files.size(file)).isEqualTo(start + len);
        assertThat(diskUsageKiB(file)).as("sparse file stays small on disk").isLessThan(1024);

        try (Arena arena = Arena.ofConfined()) {
            ZipArchive zip = ZipArchive.open(file, start, Fixtures.map(file, start, len, arena));
            ZipEntryInfo d0 = zip.entry("archive/data/0").orElseThrow();
            ZipEntryInfo d1 = zip.entry("archive/data/1").orElseThrow();
            assertThat(d0.size()).isEqualTo(big);
            assertThat(start + d0.dataOffset()).isEqualTo(bigAt);
            assertThat(d1.localHeaderOffset()).isGreaterThan(0xFFFFFFFFL);
            assertThat(start + d1.dataOffset()).isEqualTo(tailAt);
            assertThat(d0.dataOffset() % 64).isZero();
            assertThat(d1.dataOffset() % 64).isZero();
            assertThat(zip.data(d1).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(tail);
            assertThat(zip.data(d0).get(ValueLayout.JAVA_BYTE, big - 1)).isEqualTo((byte) 42);
            assertThat(zip.crc32(d1)).isEqualTo(d1.crc());
            // recomputing it would page-fault through 5 GiB of hole; Crc32Test covers CRCs of entries > 2 GiB
            assertThat(d0.crc()).isEqualTo(bigCrc);
        }
        // independent reader over the archive alone: the JDK parses the same zip64 structures
        Path window = tmp.resolve("window.zip");
        try (FileChannel in = FileChannel.open(file, READ); FileChannel out = FileChannel.open(window, CREATE_NEW, WRITE)) {
            // only what was written: the head up to the hole, then from the hole's last byte on
            in.transferTo(start, bigAt - start, out);
            out.position(bigAt + big - 1 - start);
            in.transferTo(bigAt + big - 1, start + len - (bigAt + big - 1), out);
        }
        try (ZipFile jdk = new ZipFile(window.toFile())) {
            ZipEntry z0 = jdk.getEntry("archive/data/0"), z1 = jdk.getEntry("archive/data/1");
            assertThat(z0.getSize()).isEqualTo(big);
            assertThat(z0.getCrc()).isEqualTo(bigCrc);
            try (var in = jdk.getInputStream(z1)) {
                assertThat(in.readAllBytes()).isEqualTo(tail);
            }
            assertThat(jdk.size()).isEqualTo(4);
        }
    }

    @Test
    void rejectsMisuse() throws Exception {
        try (FileChannel ch = FileChannel.open(tmp.resolve("x.pt"), CREATE_NEW, READ, WRITE)) {
            assertThatThrownBy(() -> new TorchZipWriter(ch, 0, "a/b")).isInstanceOf(IllegalArgumentException.class);
            TorchZipWriter w = new TorchZipWriter(ch, 0, "x");
            assertThatThrownBy(() -> w.addSmall("../../x", new byte[1])).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> w.addSmall("/abs", new byte[1])).isInstanceOf(IllegalArgumentException.class);
            w.addSmall("data.pkl", new byte[1]);
            assertThatThrownBy(() -> w.addSmall("data.pkl", new byte[1])).isInstanceOf(IllegalArgumentException.class);
            w.reserve("data/0", 10);
            assertThatThrownBy(w::finish).isInstanceOf(IllegalStateException.class).hasMessageContaining("data/0");
            w.setCrc("data/0", 0);
            w.finish();
            assertThatThrownBy(() -> w.addSmall("late", new byte[1])).isInstanceOf(IllegalStateException.class);
        }
    }

    private static long crcOfZerosThen42(long n) {
        CRC32 crc = new CRC32();
        byte[] zeros = new byte[1 << 20];
        long left = n - 1;
        while (left > 0) {
            int k = (int) Math.min(zeros.length, left);
            crc.update(zeros, 0, k);
            left -= k;
        }
        crc.update(42);
        return crc.getValue();
    }

    private static long diskUsageKiB(Path file) throws Exception {
        Process p = new ProcessBuilder("du", "-k", file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        assertThat(p.waitFor()).as(out).isZero();
        return Long.parseLong(out.split("\\s+")[0]);
    }
}
