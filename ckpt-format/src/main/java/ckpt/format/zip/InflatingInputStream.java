package ckpt.format.zip;

import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Inflates a DEFLATE entry straight from the segment. It never yields more than the declared size (a corrupt or
 * hostile stream cannot balloon) and fails if the stream ends early or late.
 */
final class InflatingInputStream extends InputStream {
    private static final long INPUT_CHUNK = 1 << 20;

    private final Path file;
    private final String name;
    private final MemorySegment compressed;
    private final long expected;
    private final Inflater inflater = new Inflater(true);
    private long fed;
    private long produced;
    private boolean paddedEnd;   // raw inflate may want one byte past the data to see the end of the last block
    private boolean closed;

    InflatingInputStream(Path file, String name, MemorySegment compressed, long expected) {
        this.file = file;
        this.name = name;
        this.compressed = compressed;
        this.expected = expected;
    }

    @Override
    public int read() {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : Byte.toUnsignedInt(one[0]);
    }

    @Override
    public int read(byte[] b, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        if (closed) throw new IllegalStateException("stream closed");
        if (len == 0) return 0;
        while (true) {
            if (inflater.finished()) {
                if (produced != expected)
                    throw error("inflates to " + produced + " bytes but the central directory says " + expected);
                return -1;
            }
            if (inflater.needsInput()) feed();
            int n;
            try {
                n = inflater.inflate(b, off, (int) Math.min(len, expected - produced + 1));
            } catch (DataFormatException ex) {
                throw new ZipFormatException(file, "entry " + name, "corrupt DEFLATE data: " + ex.getMessage(), ex);
            }
            if (inflater.needsDictionary()) throw error("DEFLATE data asks for a preset dictionary");
            produced += n;
            if (produced > expected) throw error("inflates to more than the " + expected + " bytes the central directory says");
            if (n > 0) return n;
        }
    }

    private void feed() {
        if (fed < compressed.byteSize()) {
            long n = Math.min(INPUT_CHUNK, compressed.byteSize() - fed);
            inflater.setInput(compressed.asSlice(fed, n).asByteBuffer());
            fed += n;
        } else if (!paddedEnd) {
            paddedEnd = true;
            inflater.setInput(ByteBuffer.wrap(new byte[1]));
        } else {
            throw error("DEFLATE data end before the stream does (truncated entry)");
        }
    }

    private ZipFormatException error(String message) {
        return new ZipFormatException(file, "entry " + name, message);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            inflater.end();
        }
    }
}
