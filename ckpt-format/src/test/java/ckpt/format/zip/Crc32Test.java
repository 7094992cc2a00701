package ckpt.format.zip;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.zip.CRC32;

import static org.assertj.core.api.Assertions.assertThat;

class Crc32Test {
    /**
     * Entries over 2 GiB cannot be one ByteBuffer view, so the CRC is fed in chunks (1 GiB in production); with tiny
     * chunks the chunk arithmetic is exercised on every boundary case at a size a test can afford.
     */
    @Test
    void chunkedCrcEqualsOneShotCrc() {
        byte[] bytes = new byte[1000];
        new Random(7).nextBytes(bytes);
        CRC32 expected = new CRC32();
        expected.update(bytes);
        MemorySegment seg = MemorySegment.ofArray(bytes);
        for (long chunk : new long[]{1, 7, 999, 1000, 1001, 1L << 30}) {
            CRC32 got = new CRC32();
            ZipArchive.update(got, seg, chunk);
            assertThat(got.getValue()).as("chunk " + chunk).isEqualTo(expected.getValue());
        }
        CRC32 empty = new CRC32();
        ZipArchive.update(empty, MemorySegment.ofArray(new byte[0]), 7);
        assertThat(empty.getValue()).isZero();
    }
}
