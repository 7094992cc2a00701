package ckpt.convert.exec;

import ckpt.convert.plan.PartSpec;
import ckpt.format.FormatException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.CRC32;

/**
 * {@code --finish}'s re-read: every region a part wrote is read back from the shared file system and its CRC-32
 * compared with the one the part computed from the bytes it wrote (recorded in its marker), so a part file that was
 * damaged or cut after its part completed — a bad disk, a copy, a stray write — is named before anything is
 * published. Regions are read on {@code threads} workers in windows of {@link #WINDOW} bytes (memory stays bounded);
 * the first damaged region in part order is reported.
 */
final class PartChecksums {
    static final long WINDOW = 64L << 20;

    private PartChecksums() {
    }

    /** {@code parts.get(i)}: the regions of part {@code i + 1} of {@code parts.size()}. */
    static void verify(Path out, List<List<PartRegion>> parts, int threads) throws IOException {
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads), r -> Thread.ofPlatform().daemon().unstarted(r));
        try {
            List<List<Future<Long>>> sums = new ArrayList<>();
            for (List<PartRegion> part : parts) {
                List<Future<Long>> f = new ArrayList<>();
                for (PartRegion r : part)
                    f.add(r.crc32() < 0 ? null : pool.submit(() -> crc(out.resolve(r.file()), r.offset(), r.length())));
                sums.add(f);
            }
            for (int i = 0; i < parts.size(); i++) {
                PartSpec p = new PartSpec(i + 1, parts.size());
                for (int k = 0; k < parts.get(i).size(); k++) {
                    if (sums.get(i).get(k) == null) continue;
                    PartRegion r = parts.get(i).get(k);
                    long got = await(sums.get(i).get(k), out.resolve(r.file()));
                    if (got != r.crc32())
                        throw new FormatException(out.resolve(r.file()), "part " + p + " is damaged: "
                                + (r.wholeFile() ? "the file" : String.format(Locale.ROOT, "bytes %,d–%,d (%s)", r.offset(), r.end(), r.unit()))
                                + String.format(Locale.ROOT, " read back with CRC-32 %08x, the part wrote %08x", got, r.crc32())
                                + "; nothing was published — re-run it with --part " + p);
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** CRC-32 of {@code length} bytes at {@code offset} of {@code file}. */
    static long crc(Path file, long offset, long length) throws IOException {
        CRC32 c = new CRC32();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            for (long at = 0; at < length; at += WINDOW) {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment w = ch.map(FileChannel.MapMode.READ_ONLY, offset + at, Math.min(WINDOW, length - at), arena);
                    c.update(w.asByteBuffer());
                }
            }
        }
        return c.getValue();
    }

    private static long await(Future<Long> f, Path file) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while re-reading " + file, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) throw new FormatException(file, "could not be read back: " + io.getMessage(), io);
            throw new IllegalStateException(e.getCause());
        }
    }
}
