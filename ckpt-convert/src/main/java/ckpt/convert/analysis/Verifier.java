package ckpt.convert.analysis;

import ckpt.format.InputText;
import ckpt.format.RegularFiles;
import ckpt.convert.assembly.Coverage;
import ckpt.convert.index.CheckpointFormat;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.index.DcpIndexer;
import ckpt.convert.index.FileEntry;
import ckpt.convert.index.GlobalTensor;
import ckpt.convert.index.ObjectEntry;
import ckpt.convert.index.TensorPiece;
import ckpt.format.DetectedFormat;
import ckpt.convert.plan.PartSpec;
import ckpt.convert.plan.PartSplit;
import ckpt.format.FormatException;
import ckpt.format.Formats;
import ckpt.format.deepspeed.DeepSpeedDir;
import ckpt.format.dcp.DcpCheckpoint;
import ckpt.format.dcp.DcpMetadataReader;
import ckpt.format.pickle.PickleAudit;
import ckpt.format.megatron.CheckpointingConfig;
import ckpt.format.megatron.SaveDir;
import ckpt.format.zip.ZipArchive;
import ckpt.format.zip.ZipEntryInfo;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Checks that a checkpoint is complete and intact, from the cheap to the thorough:
 * <ul>
 *   <li>fast (default): the save finished ({@code .metadata}, Megatron's {@code metadata.json}, a tracker naming an
 *       existing iteration), every file the metadata points into exists and is long enough, every global tensor is
 *       tiled exactly once by its chunks, every record's zip structure parses (headers only);</li>
 *   <li>deep: also every byte — the CRC-32 of every zip entry against its central directory, every chunk decoded
 *       against its metadata, and SHA-256 against Megatron's {@code integrity.json} when present.</li>
 * </ul>
 * Damage is reported as {@link Problem}s, never thrown: one verify run lists everything it can find.
 */
public final class Verifier {
    public static final String INCOMPLETE_METADATA =
            "incomplete save: .metadata missing — the job was probably interrupted while saving";
    public static final String INTEGRITY_FILE = "integrity.json";
    private static final Pattern MEGATRON_DIR = Pattern.compile("iter_\\d{7,}|release");
    private static final long HASH_CHUNK = 1L << 26;

    private final boolean deep;
    private final VerifyProgress progress;
    private final PartSpec part;

    public Verifier(boolean deep, VerifyProgress progress) {
        this(deep, progress, null);
    }

    /**
     * @param part with {@code deep}: read only this part's share of the bytes (each kind of deep work — record CRCs,
     *             whole-file CRCs, chunk decoding, replica comparison, integrity hashes — divided into byte-balanced
     *             parts), so that a job array reads every byte once; the fast checks run in every part. Null: all.
     */
    public Verifier(boolean deep, VerifyProgress progress, PartSpec part) {
        this.deep = deep;
        this.progress = progress == null ? VerifyProgress.NONE : progress;
        this.part = part;
    }

    /** Which of the units of one kind of deep work are this verifier's. */
    private boolean[] mine(long[] bytes) {
        if (part == null) {
            boolean[] all = new boolean[bytes.length];
            java.util.Arrays.fill(all, true);
            return all;
        }
        return PartSplit.mine(bytes, part);
    }

    public VerifyReport verify(Path path) {
        return new Run(path).verify();
    }

    /**
     * {@code verify --all}: a Megatron save dir's tracked iteration (with the tracker checks) and then every other
     * iteration dir, oldest first; any other path is verified alone.
     */
    public List<VerifyReport> verifyAll(Path path) {
        List<VerifyReport> out = new ArrayList<>();
        VerifyReport tracked = verify(path);
        out.add(tracked);
        for (Path it : iterationsOf(path)) {
            if (tracked.checkpoint() != null && Path.of(tracked.checkpoint()).equals(it)) continue;
            out.add(verify(it));
        }
        return out;
    }

    /** The iteration dirs of a Megatron save dir, oldest first; empty when {@code path} is not one. */
    public static List<Path> iterationsOf(Path path) {
        if (!Files.isDirectory(path) || Run.looksLikeCheckpointDir(path) || !SaveDir.looksLikeSaveDir(path)) return List.of();
        try {
            return SaveDir.open(path).iterations().stream().map(SaveDir.Iteration::path).toList();
        } catch (FormatException e) {
            return List.of();
        }
    }

    /** The records a checkpoint's metadata places in files: every tensor piece and every object. */
    public static List<RecordRef> records(CheckpointIndex index) {
        List<RecordRef> out = pieceRecords(index);
        for (ObjectEntry o : index.objects()) out.add(new RecordRef(o.file(), o.key(), o.offset(), o.bytes()));
        return out;
    }

    /** The byte ranges of the index's tensor pieces (objects' ranges are whole pickles, not storages). */
    private static List<RecordRef> pieceRecords(CheckpointIndex index) {
        List<RecordRef> out = new ArrayList<>();
        for (GlobalTensor t : index.tensors())
            for (TensorPiece p : t.pieces())
                out.add(new RecordRef(p.source().file(), t.key(), p.source().offset(), p.source().length()));
        return out;
    }

    /** An error's detail with its byte offset (the file and key are the problem's own columns). */
    private static String located(FormatException e) {
        return e.key() == null && e.where() != null ? e.detail() + " (" + e.where() + ")" : e.detail();
    }

    /** One verification: problems and counters accumulate here. */
    private final class Run {
        private final Path given;
        private final List<Problem> problems = new ArrayList<>();
        private Path checkpoint;
        private CheckpointIndex index;
        private int dataFiles, tensors, filesHashed;
        private long records, zipRecords, crcEntries, chunksDecoded, bytesRead;

        Run(Path given) {
            this.given = given;
        }

        VerifyReport verify() {
            List<String> notes;
            try (PickleAudit audit = PickleAudit.start()) {
                try {
                    run();
                    if (deep && index != null) readObjects();
                } finally {
                    if (index != null) index.close();
                }
                problems.addAll(PickleSafety.problems(audit.findings()));
                notes = PickleSafety.notes(audit.findings());
            }
            return new VerifyReport(VerifyReport.SCHEMA, given.toString(), checkpoint == null ? null : checkpoint.toString(),
                    index == null ? null : index.format().jsonName(), index == null ? null : index.iteration(), deep,
                    problems.isEmpty(), new VerifyReport.Checks(dataFiles, records, tensors, zipRecords, crcEntries,
                    chunksDecoded, filesHashed, bytesRead), problems, notes);
        }

        /** Deep: every DCP bytes item unpickled too, so that the globals of every pickle are audited. */
        private void readObjects() {
            if (!(index.resources() instanceof DcpCheckpoint) && !(index.resources() instanceof ckpt.format.megatron.MegatronCheckpoint))
                return;
            DcpCheckpoint dcp = index.resources() instanceof DcpCheckpoint d ? d
                    : ((ckpt.format.megatron.MegatronCheckpoint) index.resources()).dcp();
            Path dir = index.path();
            for (ObjectEntry o : index.objects()) {
                if (problems.stream().anyMatch(p -> p.file().equals(dir.resolve(o.file()).toString()))) continue;
                try {
                    dcp.openObject(o.key());
                } catch (FormatException e) {
                    problems.add(new Problem(e.file() == null ? dir.resolve(o.file()).toString() : e.file().toString(), o.key(),
                            "object cannot be unpickled: " + located(e)));
                }
                index.releaseMappings();
            }
        }

        private void problem(Path file, String key, String what) {
            problems.add(new Problem(file.toString(), key, what));
        }

        private void run() {
            if (!Files.exists(given)) {
                problem(given, null, "no such file or directory");
                return;
            }
            checkpoint = given;
            if (specialFiles(given)) return;
            boolean megatronIteration = Files.isDirectory(given) && MEGATRON_DIR.matcher(name(given)).matches();
            if (Files.isDirectory(given) && !looksLikeCheckpointDir(given) && SaveDir.looksLikeSaveDir(given)) {
                SaveDir sd;
                try {
                    sd = SaveDir.open(given);
                } catch (FormatException e) {
                    problems.add(new Problem(e.file().toString(), e.key(), located(e)));
                    return;
                }
                checkpoint = chooseIteration(sd);
                if (checkpoint == null) return;
                megatronIteration = true;
            }
            if (checkpoint != given && specialFiles(checkpoint)) return;
            if (Files.isDirectory(checkpoint) && !completeEnoughToOpen(checkpoint, megatronIteration)) return;
            if (Files.isDirectory(given) && Formats.detect(given) == DetectedFormat.DEEPSPEED_DIR) deepspeedTracker(given);
            if (!open()) return;
            checkIndex();
        }

        /** FIFOs, devices, sockets (or links to them) among the files: each a problem; reading one could hang. */
        private boolean specialFiles(Path p) {
            List<Path> candidates = new ArrayList<>();
            candidates.add(p);
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.list(p)) {
                    s.sorted().forEach(candidates::add);
                } catch (IOException e) {
                    problem(p, null, "cannot list: " + IoReason.of(e));
                    return true;
                }
            }
            boolean found = false;
            for (Path c : candidates) {
                if (c != p && Files.isDirectory(c)) continue;
                var kind = ckpt.format.RegularFiles.kind(c);
                if (kind.isPresent()) {
                    problem(c, null, "is " + kind.get() + ", not a regular file: refusing to read it");
                    found = true;
                }
            }
            return found;
        }

        private static String name(Path p) {
            return p.getFileName() == null ? "" : p.getFileName().toString();
        }

        private static boolean looksLikeCheckpointDir(Path dir) {
            if (Files.exists(dir.resolve(DcpMetadataReader.METADATA_FILE)) || Files.exists(dir.resolve(CheckpointingConfig.FILE)))
                return true;
            return hasDistcp(dir);
        }

        private static boolean hasDistcp(Path dir) {
            try (Stream<Path> s = Files.list(dir)) {
                return s.anyMatch(p -> p.getFileName().toString().endsWith(".distcp"));
            } catch (IOException e) {
                return false;
            }
        }

        /** The tracker must name an iteration that exists; verify that one, else (after saying so) the newest. */
        private Path chooseIteration(SaveDir sd) {
            Path tracker = sd.dir().resolve(SaveDir.TRACKER);
            SaveDir.Iteration named = null;
            if (sd.tracker().isEmpty()) {
                if (!sd.iterations().isEmpty())
                    problem(tracker, null, "no tracker file: Megatron resumes only from the iteration it names "
                            + "(it is written after a save completes, so no save may have finished)");
            } else {
                String v = sd.tracker().get();
                Long it = sd.trackerIteration().orElse(null);
                if (it == null) {
                    problem(tracker, null, "tracker holds '" + InputText.excerpt(v) + "', neither an iteration number nor 'release'");
                } else {
                    boolean release = v.equals("release");
                    named = sd.iterations().stream().filter(i -> i.release() == release && i.iteration() == it).findFirst().orElse(null);
                    if (named == null)
                        problem(tracker, null, "tracker names " + (release ? "release" : "iteration " + it) + " but "
                                + (release ? "release" : String.format("iter_%07d", it)) + "/ does not exist");
                }
            }
            if (named != null) return named.path();
            if (sd.iterations().isEmpty()) {
                problem(sd.dir(), null, "no iter_* or release directory in this save dir");
                return null;
            }
            return sd.iterations().getLast().path();
        }

        /**
         * DeepSpeed's rank 0 writes {@code latest} after every rank saved, and {@code load_checkpoint} resumes only from
         * the tag it names: a save dir with tags but no tracker has no finished save to resume from.
         */
        private void deepspeedTracker(Path dir) {
            if (DeepSpeedDir.isTagDir(dir)) return;
            try {
                DeepSpeedDir d = DeepSpeedDir.open(dir);
                if (d.latest().isEmpty() && !d.tags().isEmpty())
                    problem(dir.resolve(DeepSpeedDir.LATEST), null, "no 'latest' file: DeepSpeed resumes only from the tag it "
                            + "names (written after every rank saved), so no save may have finished; checking "
                            + d.tags().getLast().name());
            } catch (FormatException e) {
                // open() reports it
            }
        }

        /** Megatron's save order: data, then .metadata (tmp + rename), then metadata.json, then the tracker. */
        private boolean completeEnoughToOpen(Path dir, boolean megatronIteration) {
            Path metadata = dir.resolve(DcpMetadataReader.METADATA_FILE);
            Path json = dir.resolve(CheckpointingConfig.FILE);
            boolean dcpLike = Files.exists(metadata) || Files.exists(json) || hasDistcp(dir);
            if (!dcpLike) return true;    // not a DCP layout: let the index decide what it is
            if (!Files.isRegularFile(metadata)) {
                problem(metadata, null, INCOMPLETE_METADATA);
                return false;
            }
            try {
                if (Files.size(metadata) == 0) {
                    problem(metadata, null, "incomplete save: .metadata is empty — the job was probably interrupted while saving");
                    return false;
                }
            } catch (IOException e) {
                problem(metadata, null, "cannot read: " + IoReason.of(e));
                return false;
            }
            if (megatronIteration && !Files.isRegularFile(json))
                problem(json, null, "incomplete save: metadata.json missing — Megatron writes it after all data, so this save did not finish");
            return true;
        }

        /** Opens the index; when the full (Megatron) open fails, falls back to the plain DCP view to keep checking. */
        private boolean open() {
            FormatException failure;
            try {
                index = Checkpoints.open(checkpoint);
                index.checkRecords(false); // CRCs are checked and reported per entry by crc(), not thrown on decode
                return true;
            } catch (FormatException e) {
                failure = e;
            }
            if (Files.isDirectory(checkpoint) && Files.isRegularFile(checkpoint.resolve(DcpMetadataReader.METADATA_FILE))) {
                try {
                    index = DcpIndexer.plain(DcpCheckpoint.open(checkpoint));
                    index.requireSizesFit();
                    index.checkRecords(false);
                } catch (FormatException e) {
                    if (index != null) index.close();
                    index = null;
                }
            }
            boolean sameFileFlagged = index != null && failure.file() != null
                    && FileChecks.check(checkpoint, records(index)).stream().anyMatch(p -> p.file().equals(failure.file().toString()));
            if (!sameFileFlagged)
                problems.add(new Problem(failure.file() == null ? checkpoint.toString() : failure.file().toString(),
                        failure.key(), located(failure)));
            return index != null;
        }

        private void checkIndex() {
            // Single-file formats (a .pt, a .safetensors) name their records relative to the file's directory.
            Path dir = Files.isRegularFile(index.path())
                    ? (index.path().getParent() == null ? Path.of("") : index.path().getParent()) : index.path();
            List<RecordRef> refs = records(index);
            records = refs.size();
            tensors = index.tensors().size();
            List<Problem> fileProblems = FileChecks.check(dir, refs);
            problems.addAll(fileProblems);
            Set<String> badFiles = new HashSet<>();
            for (Problem p : fileProblems) badFiles.add(p.file());
            Set<String> dataFileNames = new HashSet<>();
            for (RecordRef r : refs) dataFileNames.add(r.file());
            for (FileEntry f : index.files()) if (f.referenced()) dataFileNames.add(f.name());
            dataFiles = dataFileNames.size();

            Path metadataFile = Files.isDirectory(index.path()) ? dir.resolve(DcpMetadataReader.METADATA_FILE) : index.path();
            if (index.details().get("missing_tensors") instanceof java.util.Collection<?> missing && !missing.isEmpty()) {
                Path indexFile = dir.resolve("model.safetensors.index.json");
                for (Object name : missing)
                    problem(indexFile, String.valueOf(name), "listed in the index's weight_map but held by no shard");
            }
            for (GlobalTensor t : index.tensors())
                Coverage.problem(t).ifPresent(what -> problem(metadataFile, t.key(), "tensor not tiled exactly once: " + what));

            try (Arena arena = Arena.ofConfined()) {
                Map<String, MemorySegment> mapped = new HashMap<>();
                List<RecordRef> zipRefs = zipRecords(dir, refs, badFiles);
                boolean[] crcHere = mine(zipRefs.stream().mapToLong(RecordRef::length).toArray());
                // fast: every whole-file zip's structure and record sizes; deep: also its CRCs (this part's files)
                List<Path> wholeZips = deep ? mineOnly(wholeFileZips(dir, dataFileNames, badFiles)) : wholeFileZips(dir, dataFileNames, badFiles);
                Map<String, String> integrity = deep ? mineOnly(integrity(dir), dir) : Map.of();
                if (deep) {
                    long total = 0;
                    for (int i = 0; i < zipRefs.size(); i++) if (crcHere[i]) total += zipRefs.get(i).length();
                    for (Path p : wholeZips) total += size(p);
                    for (String n : integrity.keySet()) if (Files.isRegularFile(dir.resolve(n))) total += size(dir.resolve(n));
                    progress.start(total);
                }
                try {
                    for (int i = 0; i < zipRefs.size(); i++) checkZipRecord(dir, zipRefs.get(i), mapped, arena, crcHere[i]);
                    for (Path p : wholeZips) checkWholeZip(p, arena);
                    if (deep) decodeChunks(dir, badFiles);
                    if (deep) compareReplicas(dir);
                    if (deep) checkIntegrity(dir, integrity, arena);
                } finally {
                    if (deep) progress.done();
                }
            }
        }

        /**
         * Records that must be zip archives: every DCP record (torch.save serialisation), except in files written with
         * {@code serialization_format=SAFETENSORS}, whose records all share one blob (several keys at one offset).
         */
        private List<RecordRef> zipRecords(Path dir, List<RecordRef> refs, Set<String> badFiles) {
            CheckpointFormat f = index.format();
            if (f != CheckpointFormat.MEGATRON_TORCH_DIST && f != CheckpointFormat.DCP) return List.of();
            Map<String, Map<Long, String>> keyAtOffset = new HashMap<>();
            Set<String> blobFiles = new HashSet<>();
            for (RecordRef r : refs) {
                String prev = keyAtOffset.computeIfAbsent(r.file(), k -> new HashMap<>()).putIfAbsent(r.offset(), r.key());
                if (prev != null && !prev.equals(r.key())) blobFiles.add(r.file());
            }
            Map<String, RecordRef> unique = new LinkedHashMap<>();
            for (RecordRef r : refs) {
                if (blobFiles.contains(r.file()) || r.length() == 0) continue;
                if (badFiles.contains(dir.resolve(r.file()).toString())) continue;
                unique.putIfAbsent(r.file() + "@" + r.offset() + "+" + r.length(), r);
            }
            return new ArrayList<>(unique.values());
        }

        private List<Path> mineOnly(List<Path> files) {
            boolean[] m = mine(files.stream().mapToLong(this::size).toArray());
            List<Path> out = new ArrayList<>();
            for (int i = 0; i < files.size(); i++) if (m[i]) out.add(files.get(i));
            return out;
        }

        private Map<String, String> mineOnly(Map<String, String> integrity, Path dir) {
            List<String> names = new ArrayList<>(integrity.keySet());
            boolean[] m = mine(names.stream().mapToLong(n -> Files.isRegularFile(dir.resolve(n)) ? size(dir.resolve(n)) : 0).toArray());
            Map<String, String> out = new LinkedHashMap<>();
            for (int i = 0; i < names.size(); i++) if (m[i]) out.put(names.get(i), integrity.get(names.get(i)));
            return out;
        }

        private void checkZipRecord(Path dir, RecordRef r, Map<String, MemorySegment> mapped, Arena arena, boolean crcHere) {
            Path file = dir.resolve(r.file());
            MemorySegment whole = mapped.computeIfAbsent(r.file(), n -> map(file, arena));
            if (whole == null) return;
            MemorySegment window = whole.asSlice(r.offset(), r.length());
            ZipArchive zip;
            try {
                zip = ZipArchive.open(file, r.offset(), window);
                zipRecords++;
            } catch (FormatException e) {
                problem(file, r.key(), "record at byte " + r.offset() + " is not a sound torch.save zip: " + located(e));
                return;
            }
            if (!deep || !crcHere) return;
            crc(zip, file, r.key(), "the record at byte " + r.offset());
            bytesRead += r.length();
            progress.advance(r.length());
        }

        private void crc(ZipArchive zip, Path file, String key, String where) {
            for (ZipEntryInfo e : zip.entries()) {
                if (e.isDirectory()) continue;
                try {
                    long actual = zip.crc32(e);
                    crcEntries++;
                    // torch can be told not to compute CRCs (serialization config compute_crc32=False): 0 then means "none".
                    if (e.crc() == 0 && e.size() > 0) continue;
                    if (actual != e.crc())
                        problem(file, key, "CRC-32 mismatch in " + InputText.excerpt(e.name()) + " of " + where + ": the central directory says "
                                + String.format("%08x", e.crc()) + ", the bytes give " + String.format("%08x", actual)
                                + " — the data changed after it was written");
                } catch (FormatException ex) { // its detail: the file is this line's already
                    problem(file, key, "cannot read " + InputText.excerpt(e.name()) + " of " + where + ": " + located(ex));
                } catch (java.io.UncheckedIOException ex) {
                    problem(file, key, "cannot read " + InputText.excerpt(e.name()) + " of " + where + ": " + IoReason.of(ex));
                }
            }
        }

        /** Files that are zips as a whole (torch.save files such as Megatron's common.pt), outside the record files. */
        private List<Path> wholeFileZips(Path dir, Set<String> dataFileNames, Set<String> badFiles) {
            List<Path> out = new ArrayList<>();
            boolean dcp = index.format() == CheckpointFormat.MEGATRON_TORCH_DIST || index.format() == CheckpointFormat.DCP;
            if (!Files.isDirectory(dir)) {
                if (startsWithZipMagic(dir)) out.add(dir);
                return out;
            }
            for (FileEntry f : index.files()) {
                Path p = dir.resolve(f.name());
                if (!f.present() || badFiles.contains(p.toString())) continue;
                if (dcp && dataFileNames.contains(f.name())) continue;
                if (startsWithZipMagic(p)) out.add(p);
            }
            return out;
        }

        /**
         * A file that is one zip (a {@code torch.save} file: legacy Megatron's {@code model_optim_rng.pt} and
         * {@code distrib_optim.pt}, a {@code .pt}, {@code common.pt}), whichever of its entries the index used: its
         * central directory and local headers parse (fast; the storages' sizes were checked against their tensors
         * when the index was built); deep: also the CRC-32 of every entry.
         */
        private void checkWholeZip(Path p, Arena arena) {
            MemorySegment seg = map(p, arena);
            if (seg == null) return;
            try {
                ZipArchive zip = ZipArchive.open(p, seg);
                zipRecords++;
                if (deep) crc(zip, p, null, "the file");
            } catch (FormatException e) {
                problem(p, null, "not a sound zip: " + located(e));
            }
            if (!deep) return;
            bytesRead += seg.byteSize();
            progress.advance(seg.byteSize());
        }

        /** Every chunk decoded as its reader would: dtype, shape and byte range checked against the metadata. */
        private void decodeChunks(Path dir, Set<String> badFiles) {
            List<GlobalTensor> all = index.tensors();
            boolean[] m = mine(all.stream().mapToLong(t -> t.pieces().stream().mapToLong(p -> p.source().length()).sum()).toArray());
            for (int i = 0; i < all.size(); i++) {
                if (!m[i]) continue;
                GlobalTensor t = all.get(i);
                for (TensorPiece p : t.pieces()) {
                    if (badFiles.contains(dir.resolve(p.source().file()).toString())) continue;
                    try {
                        p.source().open();
                        chunksDecoded++;
                    } catch (FormatException e) {
                        problem(dir.resolve(p.source().file()), t.key(), "chunk " + p.box() + " cannot be decoded: " + located(e));
                    }
                }
                index.releaseMappings(); // keep the resident set to one tensor's records
            }
        }

        /**
         * Legacy Megatron shards keep one copy of every TP-replicated tensor per rank; the index reads rank 0's.
         * The others must hold the same bytes, or the ranks diverged (a bug or a corrupt file).
         */
        private void compareReplicas(Path dir) {
            java.util.Map<String, GlobalTensor> byKey = index.tensorsByKey();
            List<ckpt.convert.index.LegacyReplica> replicas = ckpt.convert.index.LegacyIndexer.replicas(index);
            boolean[] m = mine(replicas.stream().mapToLong(r -> r.piece().source().length()).toArray());
            for (int i = 0; i < replicas.size(); i++) {
                if (!m[i]) continue;
                ckpt.convert.index.LegacyReplica r = replicas.get(i);
                GlobalTensor t = byKey.get(r.key());
                if (t == null) continue;
                long bytes = r.piece().box().numel() * t.dtype().byteSize();
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment primary = a.allocate(Math.max(1, bytes)).asSlice(0, bytes);
                    MemorySegment copy = a.allocate(Math.max(1, bytes)).asSlice(0, bytes);
                    ckpt.convert.assembly.TensorAssembler.assemble(t, r.piece().box(), primary);
                    GlobalTensor only = new GlobalTensor(t.key(), t.dtype(), t.shape(), t.category(), List.of(r.piece()));
                    ckpt.convert.assembly.TensorAssembler.assemble(only, r.piece().box(), copy);
                    if (primary.mismatch(copy) >= 0)
                        problem(dir.resolve(r.piece().source().file()), r.key(), "replica on " + r.rank()
                                + " differs from the copy the index reads (ranks diverged or the file is corrupt)");
                } catch (FormatException e) {
                    problem(dir.resolve(r.piece().source().file()), r.key(), "replica on " + r.rank() + " cannot be read: " + located(e));
                }
                index.releaseMappings();
            }
        }

        /** Megatron's optional {@code integrity.json}: {@code {"algorithm": "sha256", "files": {name: hex}}}. */
        private Map<String, String> integrity(Path dir) {
            Path f = Files.isDirectory(dir) ? dir.resolve(INTEGRITY_FILE) : null;
            if (f == null || !Files.isRegularFile(f)) return Map.of();
            try {
                if (Files.size(f) > 64L << 20) {
                    problem(f, null, "larger than 64 MiB: not an integrity manifest");
                    return Map.of();
                }
                JsonNode n = new ObjectMapper().readTree(f.toFile());
                String alg = n == null ? null : n.path("algorithm").asText(null);
                if (alg == null || !alg.equalsIgnoreCase("sha256") || !n.path("files").isObject()) {
                    problem(f, null, "expected {\"algorithm\": \"sha256\", \"files\": {name: hex}}"
                            + (alg == null ? "" : ", found algorithm '" + InputText.excerpt(alg) + "'"));
                    return Map.of();
                }
                Map<String, String> m = new LinkedHashMap<>();
                for (var it = n.get("files").fields(); it.hasNext(); ) {
                    var e = it.next();
                    String name = e.getKey();
                    if (name.isEmpty() || name.contains("..") || Path.of(name).isAbsolute()) {
                        problem(f, name, "names a file outside the checkpoint directory");
                        continue;
                    }
                    m.put(name, e.getValue().asText(""));
                }
                return m;
            } catch (IOException e) {
                problem(f, null, "unreadable: " + IoReason.of(e));
                return Map.of();
            }
        }

        private void checkIntegrity(Path dir, Map<String, String> expected, Arena arena) {
            for (var e : expected.entrySet()) {
                Path p = dir.resolve(e.getKey());
                if (!Files.isRegularFile(p)) {
                    problem(p, null, "listed in integrity.json but missing");
                    continue;
                }
                String actual = sha256(p, arena);
                if (actual == null) continue;
                filesHashed++;
                if (!actual.equalsIgnoreCase(e.getValue()))
                    problem(p, null, "SHA-256 mismatch: integrity.json says " + e.getValue() + ", the file gives " + actual);
            }
        }

        private String sha256(Path p, Arena arena) {
            MemorySegment seg = map(p, arena);
            if (seg == null) return null;
            try {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                for (long at = 0; at < seg.byteSize(); at += HASH_CHUNK) {
                    long n = Math.min(HASH_CHUNK, seg.byteSize() - at);
                    md.update(seg.asSlice(at, n).asByteBuffer());
                    bytesRead += n;
                    progress.advance(n);
                }
                return HexFormat.of().formatHex(md.digest());
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        private MemorySegment map(Path file, Arena arena) {
            try (FileChannel ch = RegularFiles.openRead(file)) {
                long size = ch.size();
                return size == 0 ? MemorySegment.NULL.reinterpret(0) : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            } catch (IOException e) {
                problem(file, null, "cannot read: " + IoReason.of(e));
                return null;
            } catch (FormatException e) {
                problem(file, null, e.detail());
                return null;
            }
        }

        private long size(Path p) {
            try {
                return Files.size(p);
            } catch (IOException e) {
                return 0;
            }
        }

        private static boolean startsWithZipMagic(Path p) {
            try (FileChannel ch = RegularFiles.openRead(p)) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4);
                while (b.hasRemaining() && ch.read(b) > 0) {
                    // read up to 4 bytes
                }
                return b.position() == 4 && b.get(0) == 'P' && b.get(1) == 'K' && b.get(2) == 3 && b.get(3) == 4;
            } catch (IOException e) {
                return false;
            }
        }


    }
}
