package ckpt.format.zip;

import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Reads a memory segment as a stream (the STORED case of {@link ZipArchive#inflated}). */
final class SegmentInputStream extends InputStream {
    private final MemorySegment data;
    private long pos;

    SegmentInputStream(MemorySegment data) {
        this.data = data;
    }

    @Override
    public int read() {
        return pos < data.byteSize() ? Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, pos++)) : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) return 0;
        long left = data.byteSize() - pos;
        if (left <= 0) return -1;
        int n = (int) Math.min(len, left);
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, pos, b, off, n);
        pos += n;
        return n;
    }

    @Override
    public long skip(long n) {
        long k = Math.max(0, Math.min(n, data.byteSize() - pos));
        pos += k;
        return k;
    }

    @Override
    public int available() {
        return (int) Math.min(Integer.MAX_VALUE, data.byteSize() - pos);
    }
}
