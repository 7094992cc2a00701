package ckpt.convert.exec;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.PartSpec;
import ckpt.convert.plan.PartSplit;
import ckpt.format.FormatException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * {@code ckpt convert --part I/N} and {@code --finish}: one conversion divided among the tasks of a job array. Every
 * task computes the same plan (metadata only) and divides its units — whole output files where the format has many
 * (HF shards), tensor records of the one file otherwise ({@code model.pt}, whose layout is fixed up front) — into N
 * byte-balanced parts ({@link PartSplit}). Task I writes only its units' bytes into the shared {@link PartStaging}
 * dir and then its completion marker; the finishing task checks that every part is present, complete and of this
 * plan, writes what depends on the whole (indexes, config, the zip central directory with the parts' CRC-32s) and
 * publishes the output with one rename. The executor is the plain one, given the part's tensors only.
 */
public final class PartedConverter {
    private final PlanExecutor executor;

    public PartedConverter() {
        this(new PlanExecutor());
    }

    public PartedConverter(PlanExecutor executor) {
        this.executor = executor;
    }

    /** A unit of division: tensors that one process writes together (one output file, or one record). */
    record Unit(String name, List<String> tensors, long bytes) {
    }

    static List<Unit> units(ConvertOptions o, Converter.Planned p) throws IOException {
        ConversionPlan plan = p.plan();
        return switch (o.format()) {
            case PYTORCH -> plan.tensors().stream().map(t -> new Unit(t.name(), List.of(t.name()), t.byteSize())).toList();
            case HUGGINGFACE, SAFETENSORS -> SafetensorsTarget.shardFiles(plan, o.maxShardSize()).stream()
                    .map(s -> new Unit(s.name(), s.tensors(), s.bytes())).toList();
            case MEGATRON -> MegatronOutput.units(p.megatron());
        };
    }

    /** The units of part {@code p}, in output order. */
    static List<Unit> unitsOf(List<Unit> all, PartSpec p) {
        boolean[] mine = PartSplit.mine(all.stream().mapToLong(Unit::bytes).toArray(), p);
        List<Unit> out = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) if (mine[i]) out.add(all.get(i));
        return out;
    }

    public ConvertResult part(ConvertOptions o, PartSpec p, ConversionListener listener) throws IOException {
        OutputDirGuard.check(o.checkpoint(), o.outputDir(), o.force());
        StagingDir.checkTarget(o.outputDir(), o.force());
        try (CheckpointIndex index = Checkpoints.open(o.checkpoint())) {
            return part(index, o, p, listener);
        }
    }

    /** Writes part {@code p} into the staging dir; safe to re-run (its marker goes first, its units are rewritten). */
    public ConvertResult part(CheckpointIndex index, ConvertOptions o, PartSpec p, ConversionListener listener) throws IOException {
        long start = System.nanoTime();
        OutputDirGuard.check(o.checkpoint(), o.outputDir(), o.force());
        StagingDir.checkTarget(o.outputDir(), o.force());
        Converter.Planned planned = Converter.plan(index, o);
        String fingerprint = fingerprint(index, o, planned);
        List<Unit> mine = unitsOf(units(o, planned), p);
        Set<String> tensorNames = new HashSet<>();
        Set<String> unitNames = new LinkedHashSet<>();
        for (Unit u : mine) {
            unitNames.add(u.name());
            tensorNames.addAll(u.tensors());
        }
        ConversionPlan sub = new ConversionPlan(planned.plan().tensors().stream().filter(t -> tensorNames.contains(t.name())).toList());

        PartStaging staging = PartStaging.of(o.outputDir());
        staging.join(fingerprint, p.count(), o.format());
        staging.clearMarker(p);
        listener.planned(sub);
        Converter.requireSpace(staging.out(), sub.totalBytes(), Files.getFileStore(staging.out()).getUsableSpace());
        List<String> warnings = new ArrayList<>();
        List<PartRegion> regions;
        try (PartWriter writer = Converter.writer(index, o, planned, staging.out(), staging.target(), warnings, Share.part(unitNames))) {
            executor.execute(sub, writer, listener, index::releaseMappings);
            regions = writer.completePart();
        } catch (InternalError e) {
            throw new IOException("writing part " + p + " into " + staging.out() + " failed: the file system could not "
                    + "store a mapped region (disk full or I/O error?): " + e.getMessage(), e);
        }
        staging.writeMarker(p, fingerprint, regions);
        List<String> files = regions.stream().map(PartRegion::file).distinct().sorted().toList();
        return new ConvertResult(staging.dir(), o.format(), index.format().jsonName(), index.iteration(),
                planned.family() == null ? null : planned.family().architecture(), sub.tensors().size(), sub.totalBytes(),
                sub.totalElements(), files, Duration.ofNanos(System.nanoTime() - start), warnings, List.of());
    }

    public ConvertResult finish(ConvertOptions o, ConversionListener listener) throws IOException {
        OutputDirGuard.check(o.checkpoint(), o.outputDir(), o.force());
        StagingDir.checkTarget(o.outputDir(), o.force());
        try (CheckpointIndex index = Checkpoints.open(o.checkpoint())) {
            return finish(index, o, listener);
        }
    }

    /**
     * Checks every part — marker present and of this plan, files as long as its records, and (unless
     * {@code --no-verify}) every region read back with the CRC-32 the part recorded — and publishes the output; on
     * any missing, incomplete, damaged or foreign part nothing is published and the staging dir stays for the part
     * to be re-run.
     */
    public ConvertResult finish(CheckpointIndex index, ConvertOptions o, ConversionListener listener) throws IOException {
        long start = System.nanoTime();
        OutputDirGuard.check(o.checkpoint(), o.outputDir(), o.force());
        StagingDir.checkTarget(o.outputDir(), o.force());
        Converter.Planned planned = Converter.plan(index, o);
        String fingerprint = fingerprint(index, o, planned);
        PartStaging staging = PartStaging.of(o.outputDir());
        PartStaging.Header header = staging.header().orElseThrow(() -> new FormatException(staging.dir(),
                "no parts to finish: the staging dir has no " + PartStaging.PLAN + " (run the parts first: --part I/N)"));
        int n = header.parts();
        List<Unit> all = units(o, planned);
        List<List<PartRegion>> byPart = new ArrayList<>();
        for (int i = 1; i <= n; i++) byPart.add(checkPart(staging, new PartSpec(i, n), fingerprint, unitsOf(all, new PartSpec(i, n))));
        if (!fingerprint.equals(header.fingerprint()))
            throw new FormatException(staging.dir(), "was started for a different plan (fingerprint " + header.fingerprint()
                    + ", this one is " + fingerprint + ")");
        if (o.verifyRecords()) PartChecksums.verify(staging.out(), byPart, executor.threads());
        List<PartRegion> regions = new ArrayList<>();
        byPart.forEach(regions::addAll);

        removeStrays(staging.out(), regions);
        listener.planned(new ConversionPlan(List.of()));
        List<String> warnings = new ArrayList<>();
        List<String> files;
        try (PartWriter writer = Converter.writer(index, o, planned, staging.out(), staging.target(), warnings, Share.FINISH)) {
            writer.acceptParts(regions);
            files = writer.finish();
        }
        staging.publish();
        ConversionPlan plan = planned.plan();
        return new ConvertResult(staging.target(), o.format(), index.format().jsonName(), index.iteration(),
                planned.family() == null ? null : planned.family().architecture(), plan.tensors().size(), plan.totalBytes(),
                plan.totalElements(), files.stream().sorted().toList(), Duration.ofNanos(System.nanoTime() - start), warnings,
                planned.megatron() == null ? List.of() : planned.megatron().flags());
    }

    /** Part {@code p}'s marker is present, of this plan, lists exactly its units, and every region is on disk. */
    private static List<PartRegion> checkPart(PartStaging staging, PartSpec p, String fingerprint, List<Unit> expected)
            throws IOException {
        String name = "part " + p;
        Optional<PartStaging.Marker> found = staging.readMarker(p.index(), p.count());
        if (found.isEmpty())
            throw new FormatException(staging.dir(), name + " has not completed: no " + staging.marker(p.index(), p.count()).getFileName()
                    + " (missing, still running, or failed); nothing was published — re-run it with --part " + p);
        PartStaging.Marker m = found.get();
        if (!fingerprint.equals(m.fingerprint()) || m.part() != p.index() || m.parts() != p.count())
            throw new FormatException(staging.dir(), name + " was written for a different plan (fingerprint " + m.fingerprint()
                    + ", part " + m.part() + "/" + m.parts() + "; this plan is " + fingerprint + "); nothing was published");
        Set<String> want = new HashSet<>();
        for (Unit u : expected) want.add(u.name());
        Set<String> have = new HashSet<>();
        for (PartRegion r : m.regions()) have.add(r.unit());
        if (!want.equals(have))
            throw new FormatException(staging.dir(), name + "'s marker lists other units than this plan gives it; nothing was published");
        for (PartRegion r : m.regions()) {
            Path f = staging.out().resolve(r.file()).normalize();
            if (!f.startsWith(staging.out()) || !Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS))
                throw new FormatException(f, name + " is incomplete: its file is missing; nothing was published — re-run it with --part " + p);
            long size = Files.size(f);
            if (r.wholeFile() ? size != r.end() : size < r.end())
                throw new FormatException(f, name + " is incomplete: the file has " + String.format("%,d", size) + " bytes, its "
                        + (r.wholeFile() ? "record says " : "records reach byte ") + String.format("%,d", r.end())
                        + "; nothing was published — re-run it with --part " + p);
        }
        return m.regions();
    }

    /** A finish that failed midway may have left index, config or metadata files; they are rewritten from scratch. */
    private static void removeStrays(Path out, List<PartRegion> regions) throws IOException {
        Set<Path> keep = new HashSet<>();
        for (PartRegion r : regions) keep.add(out.resolve(r.file()).normalize());
        List<Path> all;
        try (var s = Files.walk(out)) {
            all = s.sorted(java.util.Comparator.reverseOrder()).toList(); // children before their dirs
        }
        for (Path f : all) {
            if (f.equals(out) || keep.contains(f)) continue;
            if (Files.isDirectory(f, LinkOption.NOFOLLOW_LINKS)) {
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(f)) {
                    if (ds.iterator().hasNext()) continue; // holds part files
                }
            }
            Files.delete(f);
        }
    }

    /**
     * SHA-256 of everything that decides the output's bytes and layout: the source (path, format, iteration), the
     * format and options, every planned tensor (name, dtype, shape, source dtype) and the configs. Tasks that agree
     * on it write compatible parts.
     */
    static String fingerprint(CheckpointIndex index, ConvertOptions o, Converter.Planned p) {
        StringBuilder sb = new StringBuilder(PartStaging.SCHEMA).append('\n');
        sb.append(index.path().toAbsolutePath().normalize()).append('\n').append(index.format().jsonName()).append('\n')
                .append(index.iteration()).append('\n');
        sb.append(o.format().id()).append(' ').append(o.dtype()).append(' ').append(o.arch()).append(' ')
                .append(o.maxShardSize()).append(' ').append(o.keepPaddedVocab()).append(' ')
                .append(o.tokenizerDir() == null ? "-" : o.tokenizerDir().toAbsolutePath().normalize()).append(' ')
                .append(o.configDir() == null ? "-" : o.configDir().toAbsolutePath().normalize()).append(' ')
                .append(o.parallel()).append('\n');
        if (p.modelConfig() != null) sb.append(new TreeMap<>(p.modelConfig())).append('\n');
        if (p.family() != null) sb.append(p.family().architecture()).append(' ').append(new TreeMap<>(p.family().config(p.context()))).append('\n');
        for (OutputTensor t : p.plan().tensors())
            sb.append(t.name()).append(' ').append(t.dtype()).append(' ').append(Arrays.toString(t.shape())).append(' ')
                    .append(t.sourceDtype()).append(t.chunk() == null ? "" : " " + t.chunk().key() + " " + t.chunk().box() + " @" + t.chunk().file())
                    .append('\n');
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(sb.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** For tests and scripts: the staging dir a conversion into {@code outputDir} uses. */
    public static Path stagingDir(Path outputDir) {
        return PartStaging.of(outputDir).dir();
    }

    /** The number of parts the staging dir of {@code outputDir} was started with, if any. */
    public static Optional<Integer> partsStarted(Path outputDir) throws IOException {
        return PartStaging.of(outputDir).header().map(PartStaging.Header::parts);
    }
}
