package ckpt.bench;

import ckpt.bench.MegatronLayout.Chunk;
import ckpt.bench.MegatronLayout.Item;
import ckpt.bench.MegatronLayout.Optimizer;
import ckpt.bench.MegatronLayout.Tensor;
import ckpt.format.dcp.DcpMetadataWriter;
import ckpt.format.dcp.DcpWriter;
import ckpt.format.dcp.StorageInfo;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a synthetic Megatron {@code torch_dist} checkpoint (see {@link MegatronLayout}) with deterministic
 * pseudo-random contents ({@link Values}) and the sha256 of every global tensor it wrote, for benchmarks and for
 * validating readers against PyTorch ({@code scripts/check_synthetic_dcp.py}).
 *
 * <pre>
 * mvn -B -q -pl bench -am package -DskipTests
 * java -cp bench/target/ckpt-bench.jar ckpt.bench.SyntheticCheckpoint --shape llama3-8b --layers 4 \
 *      --tp 2 --dp 2 --optimizer dp_reshardable --out /work/bench-data/synth
 * </pre>
 *
 * Output: {@code OUT/latest_checkpointed_iteration.txt}, {@code OUT/iter_NNNNNNN/} ({@code __<rank>_0.distcp},
 * {@code .metadata}, {@code metadata.json}, written in that order) and {@code OUT/tensors-sha256.json}
 * ({@code {key: {dtype, shape, numel, nbytes, sha256}}}, the layout of the fixtures' {@code tensors.json}).
 * {@code --metadata-only} writes only {@code .metadata}, {@code metadata.json} and the tracker, with the storage
 * records the data files would have (like the {@code megatron-llama3-8b-meta} fixture): for metadata benchmarks
 * at 70B/405B scale.
 */
public final class SyntheticCheckpoint {
    /** Bytes a torch.save record of one tensor chunk adds around its data, as TorchSaveWriter writes it (no descriptors). */
    private static final long RECORD_OVERHEAD_ESTIMATE = 1305;

    record Options(ModelShape shape, int tp, int pp, int dp, Optimizer optimizer, long bucketSize, long iteration,
                   long seed, boolean metadataOnly, boolean sha, Path out, boolean fp32Weights, boolean plainDcp) {
    }

    public static void main(String[] argv) throws IOException {
        Options o;
        try {
            o = parse(argv);
        } catch (IllegalArgumentException e) {
            System.err.println("synthetic-checkpoint: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        write(o, System.out);
    }

    static final String USAGE = """
            usage: SyntheticCheckpoint --out DIR [--shape tiny|tinyllama-1.1b|llama3-8b|llama3-70b|llama3-405b] [--layers N | --bytes SIZE]
                     [--tp N] [--pp N] [--dp N] [--optimizer dp_reshardable|fully_reshardable|none]
                     [--bucket-size ELEMENTS] [--iteration N] [--seed N] [--metadata-only] [--no-sha]
                     [--weights bf16|fp32] [--plain-dcp]
              --bytes picks the layer count whose checkpoint is at least SIZE (e.g. 8GB = 8e9 bytes, 8GiB = 2^33)
              --weights fp32: weights and norms in fp32 (a model trained in fp32), e.g. to benchmark --dtype bf16
              --plain-dcp: the model weights as a plain PyTorch DCP app state in OUT (keys model.<name>, one tensor
                           per layer: model.decoder.layers.<i>.<name>), as dcp.save({"model": …}) writes it""";

    static Options parse(String[] argv) {
        ModelShape shape = ModelShape.named("llama3-8b");
        Integer layers = null;
        Long bytes = null;
        int tp = 1, pp = 1, dp = 1;
        Optimizer opt = Optimizer.DP_RESHARDABLE;
        long bucket = 0, iteration = 100, seed = 1234;
        boolean metadataOnly = false, sha = true, fp32 = false, plain = false;
        Path out = null;
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            switch (a) {
                case "--metadata-only" -> metadataOnly = true;
                case "--no-sha" -> sha = false;
                case "--plain-dcp" -> plain = true;
                case "-h", "--help" -> throw new IllegalArgumentException("help");
                default -> {
                    if (i + 1 >= argv.length) throw new IllegalArgumentException(a + " needs a value");
                    String v = argv[++i];
                    switch (a) {
                        case "--shape" -> shape = ModelShape.named(v);
                        case "--layers" -> layers = Integer.parseInt(v);
                        case "--bytes" -> bytes = parseSize(v);
                        case "--tp" -> tp = Integer.parseInt(v);
                        case "--pp" -> pp = Integer.parseInt(v);
                        case "--dp" -> dp = Integer.parseInt(v);
                        case "--optimizer" -> opt = Optimizer.valueOf(v.toUpperCase(Locale.ROOT));
                        case "--bucket-size" -> bucket = parseSize(v);
                        case "--iteration" -> iteration = Long.parseLong(v);
                        case "--seed" -> seed = Long.parseLong(v);
                        case "--out" -> out = Path.of(v);
                        case "--weights" -> fp32 = switch (v) {
                            case "fp32" -> true;
                            case "bf16" -> false;
                            default -> throw new IllegalArgumentException("--weights bf16 or fp32, not " + v);
                        };
                        default -> throw new IllegalArgumentException("unknown option " + a);
                    }
                }
            }
        }
        if (out == null) throw new IllegalArgumentException("--out is required");
        if (layers != null && bytes != null) throw new IllegalArgumentException("give --layers or --bytes, not both");
        if (layers != null) shape = shape.withLayers(layers);
        if (plain && (opt != Optimizer.NONE || metadataOnly)) throw new IllegalArgumentException("--plain-dcp writes model weights only: use --optimizer none");
        if (bytes != null) shape = shape.withLayers(layersFor(shape, bytes, pp, opt, fp32 ? 4 : 2));
        return new Options(shape, tp, pp, dp, opt, bucket, iteration, seed, metadataOnly, sha && !plain, out, fp32, plain);
    }

    /** The smallest multiple of PP layers whose tensors (weights + optimizer state) reach {@code budget} bytes. */
    static int layersFor(ModelShape s, long budget, int pp, Optimizer opt) {
        return layersFor(s, budget, pp, opt, 2);
    }

    static int layersFor(ModelShape s, long budget, int pp, Optimizer opt, int weightBytes) {
        long perParam = opt == Optimizer.NONE ? weightBytes : 12 + weightBytes;
        long fixed = s.paramsOutsideLayers() * perParam;
        long perLayer = s.paramsPerLayer() * perParam;
        long n = Math.max(1, (budget - fixed + perLayer - 1) / perLayer);
        return (int) MegatronLayout.roundUp(n, pp);
    }

    static long parseSize(String v) {
        String s = v.trim().toUpperCase(Locale.ROOT);
        long mult = 1;
        String[][] units = {{"TIB", "1099511627776"}, {"GIB", "1073741824"}, {"MIB", "1048576"}, {"KIB", "1024"},
                {"TB", "1000000000000"}, {"GB", "1000000000"}, {"MB", "1000000"}, {"KB", "1000"}, {"B", "1"}};
        for (String[] u : units) {
            if (s.endsWith(u[0])) {
                mult = Long.parseLong(u[1]);
                s = s.substring(0, s.length() - u[0].length()).trim();
                break;
            }
        }
        return Math.round(Double.parseDouble(s) * mult);
    }

    /** Writes the checkpoint; returns the iteration directory. */
    static Path write(Options o, PrintStream log) throws IOException {
        long t0 = System.nanoTime();
        MegatronLayout layout = new MegatronLayout(o.shape, o.tp, o.pp, o.dp, o.optimizer, o.bucketSize, o.iteration, o.fp32Weights);
        if (o.plainDcp) return writePlainDcp(layout, new Values(o.seed), o.out, log, t0);
        Path iterDir = o.out.resolve(String.format("iter_%07d", o.iteration));
        if (Files.exists(iterDir)) throw new IOException(iterDir + " already exists");
        Files.createDirectories(iterDir);
        Values values = new Values(o.seed);
        long tensorBytes = 0;
        for (Chunk c : layout.chunks()) tensorBytes += c.box().numel() * c.tensor().dtype().byteSize();
        log.printf(Locale.ROOT, "%s: %d layers, %,d parameters, TP=%d PP=%d DP=%d, optimizer %s; %d tensors in %,d chunks, %d bytes items, %,d tensor bytes%n",
                o.shape.name(), o.shape.layers(), o.shape.params(), o.tp, o.pp, o.dp, o.optimizer.megatronName(),
                layout.tensors().size(), layout.chunks().size(), layout.items().size(), tensorBytes);

        if (o.metadataOnly) writeMetadataOnly(layout, iterDir);
        else writeData(layout, values, iterDir, log);
        Files.writeString(iterDir.resolve("metadata.json"), "{\"sharded_backend\": \"torch_dist\", \"sharded_backend_version\": 1}");
        Path tracker = o.out.resolve("latest_checkpointed_iteration.txt");
        Path tmp = o.out.resolve("latest_checkpointed_iteration.txt.tmp");
        Files.writeString(tmp, Long.toString(o.iteration));
        Files.move(tmp, tracker, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        log.printf(Locale.ROOT, "wrote %s in %.1f s%n", iterDir, (System.nanoTime() - t0) / 1e9);

        if (o.sha && !o.metadataOnly) {
            long t1 = System.nanoTime();
            ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            ObjectNode root = json.createObjectNode();
            for (Tensor t : layout.tensors()) {
                ObjectNode n = root.putObject(t.key());
                n.put("dtype", t.dtype().torchName());
                var shape = n.putArray("shape");
                for (long d : t.shape()) shape.add(d);
                n.put("numel", t.numel());
                n.put("nbytes", t.numel() * t.dtype().byteSize());
                n.put("sha256", layout.sha256(values, t));
            }
            Path shaFile = o.out.resolve("tensors-sha256.json");
            json.writeValue(shaFile.toFile(), root);
            log.printf(Locale.ROOT, "sha256 of %d global tensors in %s (%.1f s)%n", layout.tensors().size(), shaFile, (System.nanoTime() - t1) / 1e9);
        }
        return iterDir;
    }

    private static void writeData(MegatronLayout layout, Values values, Path iterDir, PrintStream log) throws IOException {
        try (DcpWriter w = DcpWriter.create(iterDir)) {
            w.storageMeta(iterDir.toAbsolutePath().toString(), java.util.UUID.nameUUIDFromBytes(iterDir.toString().getBytes()).toString());
            // torch writes a rank's bytes items before its tensors
            for (Item it : layout.items()) w.addObject(it.key(), it.rank(), it.value());
            long done = 0, next = 1L << 30;
            for (Chunk c : layout.chunks()) {
                Tensor t = c.tensor();
                w.addTensorChunk(t.key(), t.dtype(), t.shape(), c.box(), c.rank(), seg -> layout.fill(values, c, seg));
                done += c.box().numel() * t.dtype().byteSize();
                if (done >= next) {
                    log.printf(Locale.ROOT, "  %,d MB written%n", done >> 20);
                    next += 1L << 30;
                }
            }
            w.finish();
        }
    }

    /**
     * The model weights as {@code dcp.save({"model": model.state_dict()})} writes them: keys {@code model.<name>},
     * stacked {@code [L, …]} layer tensors split into one tensor per layer, each rank's chunks in its own file.
     */
    private static Path writePlainDcp(MegatronLayout layout, Values values, Path out, PrintStream log, long t0) throws IOException {
        if (Files.exists(out.resolve(".metadata"))) throw new IOException(out + " already holds a DCP checkpoint");
        int tensors = 0;
        long bytes = 0;
        try (DcpWriter w = DcpWriter.create(out)) {
            w.storageMeta(out.toAbsolutePath().toString(), java.util.UUID.nameUUIDFromBytes(out.toString().getBytes()).toString());
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (Chunk c : layout.chunks()) {
                Tensor t = c.tensor();
                long[] shape = t.shape();
                boolean stacked = t.key().startsWith("decoder.layers.") && shape.length >= 2 && shape[0] == layout.layers();
                if (!stacked) {
                    if (seen.add(t.key())) tensors++;
                    w.addTensorChunk("model." + t.key(), t.dtype(), shape, c.box(), c.rank(),
                            seg -> values.fill(t.key(), t.kind(), shape, c.box(), seg));
                } else {
                    String rest = t.key().substring("decoder.layers.".length());
                    long[] layerShape = java.util.Arrays.copyOfRange(shape, 1, shape.length);
                    ckpt.format.tensor.Box b = c.box();
                    ckpt.format.tensor.Box inLayer = new ckpt.format.tensor.Box(java.util.Arrays.copyOfRange(b.offsets(), 1, b.rank()),
                            java.util.Arrays.copyOfRange(b.sizes(), 1, b.rank()));
                    for (long i = b.offset(0); i < b.end(0); i++) {
                        long[] o = b.offsets(), z = b.sizes();
                        o[0] = i;
                        z[0] = 1;
                        ckpt.format.tensor.Box one = new ckpt.format.tensor.Box(o, z);
                        String key = "model.decoder.layers." + i + "." + rest;
                        if (seen.add(key)) tensors++;
                        w.addTensorChunk(key, t.dtype(), layerShape, inLayer, c.rank(), seg -> values.fill(t.key(), t.kind(), shape, one, seg));
                    }
                }
                bytes += c.box().numel() * t.dtype().byteSize();
            }
            w.finish();
        }
        log.printf(Locale.ROOT, "wrote plain DCP %s: %d tensors, %,d tensor bytes in %.1f s%n", out, tensors, bytes, (System.nanoTime() - t0) / 1e9);
        return out;
    }

    /** The {@code .metadata} the data would have, with storage records laid out as the writer would lay them out. */
    private static void writeMetadataOnly(MegatronLayout layout, Path iterDir) throws IOException {
        DcpMetadataWriter mw = new DcpMetadataWriter().storageMeta(iterDir.toAbsolutePath().toString(),
                java.util.UUID.nameUUIDFromBytes(iterDir.toString().getBytes()).toString());
        Map<Integer, Long> end = new HashMap<>();
        Map<Integer, List<Runnable>> perRank = new java.util.TreeMap<>();
        for (Item it : layout.items()) {
            mw.addBytes(it.key());
            long len = it.value() instanceof List<?> l && l.size() == 1 && l.getFirst() == null ? 1197 : 16384;
            long off = end.merge(it.rank(), len, Long::sum) - len;
            StorageInfo info = new StorageInfo("__" + it.rank() + "_0.distcp", off, len, List.of());
            perRank.computeIfAbsent(it.rank(), r -> new java.util.ArrayList<>()).add(() -> mw.addStorage(it.key(), null, info));
        }
        for (Chunk c : layout.chunks()) {
            Tensor t = c.tensor();
            mw.addChunk(t.key(), t.dtype(), t.shape(), c.box());
            long len = c.box().numel() * t.dtype().byteSize() + RECORD_OVERHEAD_ESTIMATE;
            long off = end.merge(c.rank(), len, Long::sum) - len;
            StorageInfo info = new StorageInfo("__" + c.rank() + "_0.distcp", off, len, List.of());
            perRank.computeIfAbsent(c.rank(), r -> new java.util.ArrayList<>()).add(() -> mw.addStorage(t.key(), c.box().offsets(), info));
        }
        perRank.values().forEach(l -> l.forEach(Runnable::run));
        Path tmp = iterDir.resolve(".metadata.tmp");
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
            mw.write(out);
        }
        Files.move(tmp, iterDir.resolve(".metadata"), StandardCopyOption.ATOMIC_MOVE);
    }
}
