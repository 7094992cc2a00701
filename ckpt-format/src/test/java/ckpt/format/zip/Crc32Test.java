package ckpt.format.zip;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.zip.CRC32;

import static org.assertj.core.api.Assertions.assertThat;

class Crc32Test {
    private static long crc(byte[] b, int from, int to) {
        CRC32 c = new CRC32();
        c.update(b, from, to - from);
        return c.getValue();
    }

    @Test
    void combiningPartsGivesTheCrcOfTheWhole() {
        Random r = new Random(7);
        for (int trial = 0; trial < 200; trial++) {
            byte[] b = new byte[r.nextInt(5000)];
            r.nextBytes(b);
            int cut = b.length == 0 ? 0 : r.nextInt(b.length + 1);
            long whole = crc(b, 0, b.length);
            assertThat(Crc32.combine(crc(b, 0, cut), crc(b, cut, b.length), b.length - cut)).isEqualTo(whole);
            assertThat(Crc32.of(MemorySegment.ofArray(b))).isEqualTo(whole);
        }
    }

    @Test
    void manyPartsFoldLeftToRight() {
        byte[] b = new byte[100_003];
        new Random(3).nextBytes(b);
        long c = crc(b, 0, 0);
        for (int at = 0; at < b.length; at += 997) {
            int end = Math.min(b.length, at + 997);
            c = Crc32.combine(c, crc(b, at, end), end - at);
        }
        assertThat(c).isEqualTo(crc(b, 0, b.length));
    }
}
