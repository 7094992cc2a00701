package ckpt.format;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WritebackTest {
    @TempDir
    Path tmp;

    private static MemorySegment bytes(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (i * 31 + seed);
        return MemorySegment.ofArray(b);
    }

    private FileChannel open(Path f) throws IOException {
        return FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    @Test
    void flushesEveryIntervalInTheBackgroundAndWritesTheSameBytes() throws Exception {
        Path f = tmp.resolve("out.bin");
        List<Boolean> flushes = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch first = new CountDownLatch(1), second = new CountDownLatch(2);
        try (FileChannel ch = open(f); Writeback wb = new Writeback(1000, (c, metadata) -> {
            c.force(metadata);
            flushes.add(metadata);
            if (!metadata) {
                first.countDown();
                second.countDown();
            }
        })) {
            Writeback.File out = wb.track(f, ch);
            out.write(bytes(600, 1), 0);    // below the interval: no flush yet
            assertThat(flushes).isEmpty();
            out.write(bytes(600, 2), 600);  // 1200 unflushed: one background flush
            assertThat(first.await(10, TimeUnit.SECONDS)).isTrue();
            out.write(bytes(1500, 3), 1200); // past it again, counted from that flush: another
            assertThat(second.await(10, TimeUnit.SECONDS)).isTrue();
            out.force();
        }
        assertThat(flushes).contains(false).last().isEqualTo(true); // data-only in the background, all at the end
        byte[] expected = new byte[2700];
        MemorySegment.copy(bytes(600, 1), 0, MemorySegment.ofArray(expected), 0, 600);
        MemorySegment.copy(bytes(600, 2), 0, MemorySegment.ofArray(expected), 600, 600);
        MemorySegment.copy(bytes(1500, 3), 0, MemorySegment.ofArray(expected), 1200, 1500);
        assertThat(Files.readAllBytes(f)).isEqualTo(expected);
    }

    @Test
    void aFailedBackgroundFlushFailsTheNextWriteAndTheForceInOneLineNamingTheFile() throws Exception {
        Path f = tmp.resolve("shard.safetensors");
        CountDownLatch failed = new CountDownLatch(1);
        try (FileChannel ch = open(f); Writeback wb = new Writeback(10, (c, metadata) -> {
            failed.countDown();
            throw new IOException("Input/output error");
        })) {
            Writeback.File out = wb.track(f, ch);
            out.write(bytes(100, 0), 0);
            assertThat(failed.await(10, TimeUnit.SECONDS)).isTrue();
            wb.close(); // the flusher has recorded the failure once stopped
            for (var call : List.<org.assertj.core.api.ThrowableAssert.ThrowingCallable>of(
                    () -> out.write(bytes(100, 0), 100), out::force)) {
                assertThatThrownBy(call).isInstanceOfSatisfying(FileSystemException.class, e -> {
                    assertThat(e.getFile()).isEqualTo(f.toString());
                    assertThat(e.getMessage()).isEqualTo(f + ": could not write the output to storage (Input/output error)");
                });
            }
        }
    }

    @Test
    void aFailedFinalForceNamesTheFile() throws IOException {
        Path f = tmp.resolve("model.pt");
        try (FileChannel ch = open(f); Writeback wb = new Writeback(0, (c, metadata) -> {
            throw new IOException("No space left on device");
        })) {
            Writeback.File out = wb.track(f, ch);
            out.write(bytes(100, 0), 0); // interval 0: never flushed in the background
            assertThatThrownBy(out::force).isInstanceOf(FileSystemException.class)
                    .hasMessage(f + ": could not write the output to storage (No space left on device)");
        }
    }

    @Test
    void closeStopsTheFlusherAndLaterWritesAreForcedOnlyAtTheEnd() throws IOException {
        Path f = tmp.resolve("x.bin");
        List<Boolean> flushes = Collections.synchronizedList(new ArrayList<>());
        try (FileChannel ch = open(f)) {
            Writeback wb = new Writeback(1, (c, metadata) -> flushes.add(metadata));
            Writeback.File out = wb.track(f, ch);
            wb.close();
            out.write(bytes(10, 0), 0);
            out.force();
        }
        assertThat(flushes).containsExactly(true);
    }
}
