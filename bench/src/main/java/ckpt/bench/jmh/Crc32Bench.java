package ckpt.bench.jmh;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;

/**
 * The checksum cost behind convert's default record verification (issue #12 item 2): CRC-32 (what zip records
 * store, so what ckpt checks) and CRC-32C (for comparison) over 64 MiB off-heap, as a mapped record is read — beyond
 * the caches, so the figure is per byte of a real record. GB/s = {@link #BYTES} × ops/s; the plain copy of the same
 * bytes is the baseline.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class Crc32Bench {
    public static final int BYTES = 64 << 20;

    private ByteBuffer data;
    private ByteBuffer copy;

    @Setup
    public void allocate() {
        data = ByteBuffer.allocateDirect(BYTES);
        copy = ByteBuffer.allocateDirect(BYTES);
        byte[] chunk = new byte[1 << 20];
        new Random(42).nextBytes(chunk);
        while (data.hasRemaining()) data.put(chunk, 0, Math.min(chunk.length, data.remaining()));
    }

    @Benchmark
    public long crc32() {
        CRC32 c = new CRC32();
        c.update(data.clear());
        return c.getValue();
    }

    @Benchmark
    public long crc32c() {
        CRC32C c = new CRC32C();
        c.update(data.clear());
        return c.getValue();
    }

    @Benchmark
    public int copyBaseline() {
        copy.clear().put(data.clear());
        return copy.position();
    }
}
