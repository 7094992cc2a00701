package ckpt.format;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Writes native memory into a file at a position with {@code pwrite}, the way writers fill regions they laid out
 * up front. Cheaper than storing through a read-write mapping of a new file: a store into a mapped hole faults once
 * per 4 KiB page and the filesystem zeroes each new page before the store overwrites it (ext4: half of a
 * conversion's CPU time, docs/BENCHMARKS.md issue 18), where a whole-page write copies each byte once.
 */
public final class PositionedWrite {
    /** Largest single write: a {@link ByteBuffer} view holds at most 2 GiB. */
    private static final long CHUNK = 1L << 30;

    private PositionedWrite() {
    }

    /** Writes every byte of {@code bytes} (native memory) at {@code position} of {@code channel}. */
    public static void fully(FileChannel channel, MemorySegment bytes, long position) throws IOException {
        for (long off = 0; off < bytes.byteSize(); off += CHUNK) {
            ByteBuffer b = bytes.asSlice(off, Math.min(CHUNK, bytes.byteSize() - off)).asByteBuffer();
            long at = position + off;
            while (b.hasRemaining()) at += channel.write(b, at);
        }
    }
}
