package ckpt.format.zip;

import java.lang.foreign.MemorySegment;
import java.util.zip.CRC32;

/**
 * CRC-32 (zip's polynomial) of memory, and the CRC of a concatenation from the CRCs of its parts, so that parts of
 * one record written by different threads need not be read again. {@link #combine} is zlib's
 * {@code crc32_combine}: appending {@code n} bytes multiplies the first CRC by x^(8n) in GF(2), done with repeated
 * squaring of the one-zero-bit operator matrix, O(log n).
 */
public final class Crc32 {
    private static final int POLY = 0xEDB88320; // reflected 0x04C11DB7

    private Crc32() {
    }

    /** CRC-32 of every byte of {@code data}. */
    public static long of(MemorySegment data) {
        CRC32 crc = new CRC32();
        long chunk = 1L << 30; // asByteBuffer is limited to 2 GiB
        for (long off = 0; off < data.byteSize(); off += chunk)
            crc.update(data.asSlice(off, Math.min(chunk, data.byteSize() - off)).asByteBuffer());
        return crc.getValue();
    }

    /** CRC-32 of {@code A ‖ B} given {@code crcA = crc(A)}, {@code crcB = crc(B)} and {@code lengthB = |B|}. */
    public static long combine(long crcA, long crcB, long lengthB) {
        if (lengthB < 0) throw new IllegalArgumentException("negative length");
        if (lengthB == 0) return crcA;
        int[] even = new int[32];
        int[] odd = new int[32];
        odd[0] = POLY; // operator for one zero bit
        int row = 1;
        for (int n = 1; n < 32; n++) {
            odd[n] = row;
            row <<= 1;
        }
        square(even, odd); // two zero bits
        square(odd, even); // four zero bits
        int crc = (int) crcA;
        long len = lengthB;
        // Each round squares the operator (8, 16, 32… zero bits per byte count bit) and applies it where len has a 1.
        while (true) {
            square(even, odd);
            if ((len & 1) != 0) crc = times(even, crc);
            len >>>= 1;
            if (len == 0) break;
            square(odd, even);
            if ((len & 1) != 0) crc = times(odd, crc);
            len >>>= 1;
            if (len == 0) break;
        }
        return (crc ^ (int) crcB) & 0xFFFFFFFFL;
    }

    private static int times(int[] mat, int vec) {
        int sum = 0;
        for (int i = 0; vec != 0; i++, vec >>>= 1) if ((vec & 1) != 0) sum ^= mat[i];
        return sum;
    }

    private static void square(int[] out, int[] mat) {
        for (int n = 0; n < 32; n++) out[n] = times(mat, mat[n]);
    }
}
