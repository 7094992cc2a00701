package ckpt.format.safetensors;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Streams exactly {@code [start, end)} of a file with positional reads, so a parser can never read past the region
 * it was given and the region is never copied onto the heap as a whole.
 */
final class RegionInputStream extends InputStream {
    private final FileChannel ch;
    private long pos;
    private final long end;

    RegionInputStream(FileChannel ch, long start, long end) {
        this.ch = ch;
        this.pos = start;
        this.end = end;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) return 0;
        if (pos >= end) return -1;
        int n = (int) Math.min(len, end - pos);
        int r = ch.read(ByteBuffer.wrap(b, off, n), pos);
        if (r < 0) throw new EOFException("file ended at byte " + pos + ", before byte " + end);
        pos += r;
        return r;
    }

    /** Reads exactly {@code dst.remaining()} bytes at {@code position}; the file must still be that long. */
    static void readFully(FileChannel ch, ByteBuffer dst, long position) throws IOException {
        long p = position;
        while (dst.hasRemaining()) {
            int r = ch.read(dst, p);
            if (r < 0) throw new EOFException("file ended at byte " + p);
            p += r;
        }
    }
}
