package ckpt.bench.jmh;

import ckpt.format.dcp.DcpMetadata;
import ckpt.format.dcp.DcpMetadataReader;
import ckpt.format.torchsave.TorchGlobals;
import net.razorvine.pickle.IObjectConstructor;
import net.razorvine.pickle.Unpickler;
import net.razorvine.pickle.objects.ClassDict;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.concurrent.TimeUnit;

/**
 * Parse time of a DCP {@code .metadata} pickle: ckpt's {@code PickleReader} (from a mapped file, as ckpt reads it),
 * ckpt's whole {@code DcpMetadataReader.read} (pickle + decoding into {@code DcpMetadata}), and Pyrolite 1.5
 * ({@code net.razorvine:pickle}) on the same bytes already on the heap (its best case), with the constructors a
 * torch metadata pickle needs (torch.Size, layouts, the memory-format enum, TensorProperties' tuple state).
 * MB/s = file size / time per operation. The file is the {@code file} parameter: a {@code .metadata} path.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"-Xmx12g", "--enable-native-access=ALL-UNNAMED"})
public class PickleReaderBench {
    @Param("")
    public String file;

    private Path path;
    private Arena arena;
    private MemorySegment mapped;
    private byte[] heap;

    /** What Pyrolite needs to build torch's DCP classes without executing anything. */
    public static final class TupleStateObject extends HashMap<String, Object> {
        public Object[] state;

        public void __setstate__(Object[] s) {
            state = s;
        }

        public void __setstate__(HashMap<String, Object> s) {
            putAll(s);
        }
    }

    static {
        IObjectConstructor firstArg = args -> args[0];
        Unpickler.registerConstructor("torch", "Size", firstArg);
        Unpickler.registerConstructor("torch.serialization", "_get_layout", firstArg);
        Unpickler.registerConstructor("torch.distributed.checkpoint.metadata", "_MEM_FORMAT_ENCODING", firstArg);
        Unpickler.registerConstructor("torch.distributed.checkpoint.metadata", "TensorProperties", args -> new TupleStateObject());
        Unpickler.registerConstructor("pathlib", "PosixPath", args -> String.join("/", java.util.Arrays.stream(args).map(String::valueOf).toList()));
    }

    @Setup(Level.Trial)
    public void open() throws IOException {
        if (file.isEmpty()) throw new IllegalArgumentException("give -p file=<path to a .metadata>");
        path = Path.of(file);
        arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        }
        heap = Files.readAllBytes(path);
        System.out.printf("%n%s: %,d bytes%n", path, heap.length);
    }

    @TearDown(Level.Trial)
    public void close() {
        arena.close();
    }

    @Benchmark
    public Object ckptPickleReader() {
        return TorchGlobals.reader(path).build().read(mapped);
    }

    @Benchmark
    public DcpMetadata ckptDcpMetadataReader() {
        return DcpMetadataReader.read(path.getParent());
    }

    @Benchmark
    public Object pyrolite() throws IOException {
        Object root = new Unpickler().loads(heap);
        if (!(root instanceof ClassDict)) throw new IllegalStateException("unexpected root " + root.getClass());
        return root;
    }
}
