package ckpt.format.zip;

import ckpt.format.testing.Fixtures;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipFile;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static java.nio.file.StandardOpenOption.*;

/**
 * Quick harness (no JMH) behind the "hand-written reader vs Commons Compress" decision: the DCP reader opens one zip
 * per tensor chunk (~10^5 for a 405B checkpoint), so the cost of opening a small archive inside a big file matters.
 * Builds one file holding N copies of a real Megatron DCP item (item_small.bin, 7 entries) and opens each window
 * (a) with {@link ZipArchive} over slices of one mapping, (b) with {@link ZipArchive} mapping each window on its
 * own, (c) with Commons Compress {@code ZipFile} over a {@link SeekableByteChannel} window of a {@link FileChannel},
 * (d) the same over a window of the mapping;
 * each open ends with the data offset of {@code archive/data/0} taken from the local header.
 *
 * <p>Run: {@code java -cp <classes>:<test-classes>:<commons-compress,io,lang3,codec> ckpt.format.zip.ZipOpenBench [N] [rounds]}
 */
public final class ZipOpenBench {
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 15;
        byte[] item = Files.readAllBytes(Fixtures.path("megatron-llama3-8b-meta/reference/item_small.bin"));
        Path file = Files.createTempFile("zipbench", ".distcp");
        try {
            try (FileChannel ch = FileChannel.open(file, WRITE)) {
                for (int i = 0; i < n; i++) ch.write(ByteBuffer.wrap(item), (long) i * item.length);
            }
            long expect = 704L * n;
            try (FileChannel ch = FileChannel.open(file, READ); Arena arena = Arena.ofShared()) {
                MemorySegment whole = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
                Task ownSliced = () -> {
                    long sum = 0;
                    for (int i = 0; i < n; i++) {
                        long off = (long) i * item.length;
                        ZipArchive z = ZipArchive.open(file, off, whole.asSlice(off, item.length));
                        sum += z.entry("archive/data/0").orElseThrow().dataOffset();
                    }
                    return sum;
                };
                Task ownMapped = () -> {
                    long sum = 0;
                    for (int i = 0; i < n; i++) {
                        long off = (long) i * item.length;
                        try (Arena a = Arena.ofConfined()) {
                            ZipArchive z = ZipArchive.open(file, off, ch.map(FileChannel.MapMode.READ_ONLY, off, item.length, a));
                            sum += z.entry("archive/data/0").orElseThrow().dataOffset();
                        }
                    }
                    return sum;
                };
                Task commons = () -> {
                    long sum = 0;
                    for (int i = 0; i < n; i++) {
                        long off = (long) i * item.length;
                        try (ZipFile z = ZipFile.builder().setSeekableByteChannel(new Window(ch, off, item.length)).get()) {
                            ZipArchiveEntry e = z.getEntry("archive/data/0");
                            sum += e.getDataOffset();
                        }
                    }
                    return sum;
                };
                Task commonsMapped = () -> {
                    long sum = 0;
                    for (int i = 0; i < n; i++) {
                        long off = (long) i * item.length;
                        try (ZipFile z = ZipFile.builder().setSeekableByteChannel(new SegmentWindow(whole.asSlice(off, item.length))).get()) {
                            sum += z.getEntry("archive/data/0").getDataOffset();
                        }
                    }
                    return sum;
                };
                System.out.printf("%d archives of %d bytes (real Megatron DCP item, 7 entries), %d rounds, interleaved%n", n, item.length, rounds);
                measure(new String[]{"ZipArchive, slices of one mapping", "ZipArchive, one mapping per window",
                        "Commons Compress ZipFile over a channel window", "Commons Compress ZipFile over a mapped window"},
                        new Task[]{ownSliced, ownMapped, commons, commonsMapped}, n, rounds, expect);
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    interface Task {
        long run() throws Exception;
    }

    /** Rounds run the tasks in turn, so load from other processes hits all of them alike. */
    private static void measure(String[] names, Task[] tasks, int n, int rounds, long expect) throws Exception {
        double[][] us = new double[tasks.length][rounds + 1];
        for (int r = 0; r <= rounds; r++) {
            for (int k = 0; k < tasks.length; k++) {
                long s = System.nanoTime();
                long got = tasks[k].run();
                us[k][r] = (System.nanoTime() - s) / 1e3 / n;
                if (got != expect) throw new AssertionError(names[k] + ": data offsets sum " + got + " != " + expect);
            }
        }
        for (int k = 0; k < tasks.length; k++) {
            double first = us[k][0];
            double[] steady = Arrays.copyOfRange(us[k], 1, rounds + 1);
            Arrays.sort(steady);
            System.out.printf("%-48s first round %7.1f us/open; then median %6.2f, min %6.2f, p90 %6.2f us/open%n",
                    names[k], first, steady[rounds / 2], steady[0], steady[rounds * 9 / 10]);
        }
    }

    /** The read-only, single-position half of a {@link SeekableByteChannel}; subclasses read and say their size. */
    abstract static class ReadOnlyWindow implements SeekableByteChannel {
        protected long pos;
        protected boolean open = true;

        @Override
        public int write(ByteBuffer src) {
            throw new NonWritableChannelException();
        }

        @Override
        public long position() {
            return pos;
        }

        @Override
        public SeekableByteChannel position(long p) {
            pos = p;
            return this;
        }

        @Override
        public SeekableByteChannel truncate(long size) {
            throw new NonWritableChannelException();
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public void close() {
            open = false;
        }
    }

    /** Read-only channel over a slice of a mapping (no system calls per read), the fairest ground for Commons Compress. */
    static final class SegmentWindow extends ReadOnlyWindow {
        private final MemorySegment seg;

        SegmentWindow(MemorySegment seg) {
            this.seg = seg;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (!open) throw new ClosedChannelException();
            if (pos >= seg.byteSize()) return -1;
            int n = (int) Math.min(dst.remaining(), seg.byteSize() - pos);
            MemorySegment.ofBuffer(dst).copyFrom(seg.asSlice(pos, n));
            dst.position(dst.position() + n);
            pos += n;
            return n;
        }

        @Override
        public long size() {
            return seg.byteSize();
        }
    }

    /** Read-only channel over [start, start+length) of a file channel, positional reads only (thread-safe source). */
    static final class Window extends ReadOnlyWindow {
        private final FileChannel ch;
        private final long start, length;

        Window(FileChannel ch, long start, long length) {
            this.ch = ch;
            this.start = start;
            this.length = length;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (!open) throw new ClosedChannelException();
            if (pos >= length) return -1;
            int want = (int) Math.min(dst.remaining(), length - pos);
            ByteBuffer view = dst.slice().limit(want);
            int n = ch.read(view, start + pos);
            if (n > 0) {
                dst.position(dst.position() + n);
                pos += n;
            }
            return n;
        }

        @Override
        public long size() {
            return length;
        }
    }
}
