package ckpt.convert.exec;

import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.PartSpec;
import ckpt.convert.plan.PartSplit;
import ckpt.format.FormatException;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * One output written by the tasks of a job array ({@code --part I/N}, then {@code --finish}), whatever command plans
 * it ({@code convert}, {@code reshard}). Every task computes the same plan (metadata only) and divides its units —
 * whole output files where the format has many, items of files whose layout is fixed up front otherwise — into N
 * byte-balanced parts ({@link PartSplit}). Task I writes only its units' bytes into the shared {@link PartStaging} dir
 * and then its completion marker; the finishing task checks that every part is present, complete and of this plan,
 * writes what depends on the whole (indexes, configs, {@code .metadata}, central directories from the parts' CRC-32s)
 * and publishes the output with one rename. The executor is the plain one, given the part's tensors only.
 */
public final class PartRun {
    /** Held by the one {@code --finish} at work on a staging dir. */
    static final String FINISH_LOCK = "finish.lock";

    private PartRun() {
    }

    /** A unit of division: tensors that one process writes together (one output file, one record, one item). */
    public record Unit(String name, List<String> tensors, long bytes) {
        public Unit {
            tensors = List.copyOf(tensors);
        }
    }

    /** An output as the part machinery sees it; every task must compute the same one from the same inputs. */
    public interface Output {
        /** The output format's name, recorded in the staging dir's plan. */
        String format();

        /** Identifies everything that decides the output's bytes ({@link #fingerprint(CharSequence)}). */
        String fingerprint();

        ConversionPlan plan();

        /** Every unit, in output order. */
        List<Unit> units() throws IOException;

        /** The writer for one share of the output, laid out in {@code dir}, which is published as {@code target}. */
        PartWriter writer(Path dir, Path target, Share share) throws IOException;

        /** Whether the writers, markers and the published output are forced to storage (false: {@code --no-fsync}). */
        boolean durable();
    }

    /**
     * What a part wrote.
     *
     * @param staging the shared staging dir
     * @param plan    the part's tensors
     * @param files   the files it wrote into, relative to the output
     */
    public record Written(Path staging, ConversionPlan plan, List<String> files) {
    }

    /** SHA-256 (first 128 bits, hex) of a description of everything that decides an output. */
    public static String fingerprint(CharSequence description) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest((PartStaging.SCHEMA + "\n" + description).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The units of part {@code p}, in output order. */
    static List<Unit> unitsOf(List<Unit> all, PartSpec p) {
        boolean[] mine = PartSplit.mine(all.stream().mapToLong(Unit::bytes).toArray(), p);
        List<Unit> out = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) if (mine[i]) out.add(all.get(i));
        return out;
    }

    /**
     * Writes part {@code p} of {@code out} into the staging dir of {@code outputDir}; safe to re-run (its marker goes
     * first, its units are rewritten in place).
     *
     * @param release called by the executor between batches to let go of source mappings (may be a no-op)
     */
    public static Written part(Output out, Path outputDir, PartSpec p, PlanExecutor executor, ConversionListener listener,
                               Runnable release) throws IOException {
        String fingerprint = out.fingerprint();
        List<Unit> mine = unitsOf(out.units(), p);
        Set<String> tensorNames = new HashSet<>();
        Set<String> unitNames = new LinkedHashSet<>();
        for (Unit u : mine) {
            unitNames.add(u.name());
            tensorNames.addAll(u.tensors());
        }
        ConversionPlan sub = new ConversionPlan(out.plan().tensors().stream().filter(t -> tensorNames.contains(t.name())).toList());

        PartStaging staging = PartStaging.of(outputDir, out.durable());
        staging.join(fingerprint, p.count(), out.format());
        staging.clearMarker(p);
        listener.planned(sub);
        Converter.requireSpace(staging.out(), sub.totalBytes(), Files.getFileStore(staging.out()).getUsableSpace());
        List<PartRegion> regions;
        try (PartWriter writer = out.writer(staging.out(), staging.target(), Share.part(unitNames))) {
            executor.execute(sub, writer, listener, release);
            regions = writer.completePart();
        } catch (InternalError e) {
            throw new IOException("writing part " + p + " into " + staging.out() + " failed: the file system could not "
                    + "store a mapped region (disk full or I/O error?): " + e.getMessage(), e);
        }
        staging.writeMarker(p, fingerprint, regions);
        return new Written(staging.dir(), sub, regions.stream().map(PartRegion::file).distinct().sorted().toList());
    }

    /**
     * Checks every part — marker present and of this plan, files as long as its records, and (if {@code verify})
     * every region read back with the CRC-32 the part recorded — then completes and publishes the output; returns the
     * files written. On any missing, incomplete, damaged or foreign part nothing is published and the staging dir
     * stays for the part to be re-run. One finish at a time: a second one on the same staging dir is refused.
     */
    public static List<String> finish(Output out, Path outputDir, boolean verify, PlanExecutor executor, ConversionListener listener)
            throws IOException {
        String fingerprint = out.fingerprint();
        PartStaging staging = PartStaging.of(outputDir, out.durable());
        PartStaging.Header header = staging.header().orElseThrow(() -> new FormatException(staging.dir(),
                "no parts to finish: the staging dir has no " + PartStaging.PLAN + " (run the parts first: --part I/N)"));
        try (FileChannel lockFile = FileChannel.open(staging.dir().resolve(FINISH_LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = tryLock(lockFile, staging.dir())) {
            int n = header.parts();
            List<Unit> all = out.units();
            List<List<PartRegion>> byPart = new ArrayList<>();
            for (int i = 1; i <= n; i++) byPart.add(checkPart(staging, new PartSpec(i, n), fingerprint, unitsOf(all, new PartSpec(i, n))));
            if (!fingerprint.equals(header.fingerprint()))
                throw new FormatException(staging.dir(), "was started for a different plan (fingerprint " + header.fingerprint()
                        + ", this one is " + fingerprint + ")");
            if (verify) PartChecksums.verify(staging.out(), byPart, executor.threads());
            List<PartRegion> regions = new ArrayList<>();
            byPart.forEach(regions::addAll);

            removeStrays(staging.out(), regions);
            listener.planned(new ConversionPlan(List.of()));
            List<String> files;
            try (PartWriter writer = out.writer(staging.out(), staging.target(), Share.FINISH)) {
                for (int i = 1; i <= n; i++) accept(writer, byPart.get(i - 1), staging, new PartSpec(i, n));
                files = writer.finish();
            }
            staging.publish(); // deletes the staging dir, lock file included: a finish that waited finds nothing to do
            return files.stream().sorted().toList();
        }
    }

    /** The finish lock, or a one-line refusal while another process (or thread) holds it. */
    private static FileLock tryLock(FileChannel ch, Path dir) throws IOException {
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null)
            throw new FormatException(dir, "another --finish is running on this staging dir; wait for it (nothing was changed)");
        return lock;
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

    /**
     * The writer checks each part's records against the layout it plans; a marker edited or damaged after the part
     * wrote it (sizes and names still plausible) is named here, not reported as a bug.
     */
    private static void accept(PartWriter writer, List<PartRegion> regions, PartStaging staging, PartSpec p) throws IOException {
        try {
            writer.acceptParts(regions);
        } catch (IllegalStateException e) {
            throw new FormatException(staging.marker(p.index(), p.count()), "part " + p + "'s marker records a region this plan "
                    + "does not lay out (" + e.getMessage() + "); nothing was published — re-run it with --part " + p);
        }
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

    /** One planned tensor as the fingerprints describe it. */
    public static String describe(OutputTensor t) {
        return t.name() + ' ' + t.dtype() + ' ' + java.util.Arrays.toString(t.shape()) + ' ' + t.sourceDtype()
                + (t.chunk() == null ? "" : " " + t.chunk().key() + " " + t.chunk().box() + " @" + t.chunk().file());
    }

    /** For tests and scripts: the staging dir an output into {@code outputDir} uses. */
    public static Path stagingDir(Path outputDir) {
        return PartStaging.of(outputDir).dir();
    }

    /** The number of parts the staging dir of {@code outputDir} was started with, if any. */
    public static Optional<Integer> partsStarted(Path outputDir) throws IOException {
        return PartStaging.of(outputDir).header().map(PartStaging.Header::parts);
    }
}
