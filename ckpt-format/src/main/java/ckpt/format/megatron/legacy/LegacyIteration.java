package ckpt.format.megatron.legacy;

import ckpt.format.RegularFiles;
import ckpt.format.zip.ZipArchive;
import ckpt.format.FormatException;
import ckpt.format.megatron.MegatronArgs;
import ckpt.format.megatron.ModelConfig;
import ckpt.format.megatron.ParallelLayout;
import ckpt.format.torchsave.TorchSaveArchive;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * One iteration saved with Megatron's legacy {@code --ckpt-format torch} (FORMATS.md §4.8): an {@code iter_*} (or
 * {@code release}) directory with one {@code mp_rank_*} directory per tensor × pipeline × expert parallel rank,
 * each holding that rank's {@code model_optim_rng.pt} (+ {@code distrib_optim.pt}). Opening checks that the rank
 * directories are exactly the ones the saved parallel sizes imply, that all ranks agree on the architecture and
 * iteration, and that the checkpoint is recent enough (checkpoint_version ≥ 2.0: older ones order QKV rows
 * differently). Files are mapped once into a shared arena; closing releases them.
 */
public final class LegacyIteration implements AutoCloseable, ckpt.format.RecordChecks {

    private final Path dir;
    private final Arena arena;
    private final List<LegacyRank> ranks;
    private final MegatronArgs args;
    private final int tensorParallel;
    private final int pipelineParallel;
    private final int expertParallel;
    private final PipelineSplit split;

    private LegacyIteration(Path dir, Arena arena, List<LegacyRank> ranks, int tp, int pp, int ep) {
        this.dir = dir;
        this.arena = arena;
        this.ranks = List.copyOf(ranks);
        this.args = ranks.getFirst().args();
        this.tensorParallel = tp;
        this.pipelineParallel = pp;
        this.expertParallel = ep;
        this.split = PipelineSplit.from(args);
    }

    /** Megatron's own test ({@code _get_checkpoint_format}): an entry named {@code mp_rank_0…}. */
    public static boolean isLegacyIteration(Path dir) {
        if (!Files.isDirectory(dir)) return false;
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(p -> Files.isDirectory(p) && RankId.isRankDirName(p.getFileName().toString()));
        } catch (IOException e) {
            return false;
        }
    }

    public static LegacyIteration open(Path dir) {
        Map<String, Path> found = rankDirs(dir);
        if (found.isEmpty()) throw new FormatException(dir, "no mp_rank_* directories: not a legacy torch-format iteration");
        Arena arena = Arena.ofShared();
        try {
            // Rank 0 (all numbers zero) decides the sizes; if it is missing, read another one so the error below
            // can name what is missing.
            String firstName = found.keySet().stream()
                    .filter(n -> RankId.numbers(n).orElseThrow().stream().allMatch(x -> x == 0))
                    .findFirst().orElse(found.keySet().iterator().next());
            LegacyRank first = openRank(arena, found.get(firstName), firstName, null);
            MegatronArgs a = first.args();
            int tp = size(dir, a, "tensor_model_parallel_size");
            int pp = size(dir, a, "pipeline_model_parallel_size");
            int ep = size(dir, a, "expert_model_parallel_size");
            checkExpertTensorParallel(dir, a, tp);
            long expectedCount = (long) tp * pp * ep;
            if (expectedCount > found.size() && expectedCount > 100_000)
                throw new FormatException(dir, "args say TP=" + tp + ", PP=" + pp + ", EP=" + ep + " (" + expectedCount
                        + " rank directories) but there are " + found.size() + ": the checkpoint is incomplete");
            Map<String, RankId> expected = expectedRanks(tp, pp, ep);
            List<String> missing = new ArrayList<>();
            for (String n : expected.keySet()) if (!found.containsKey(n)) missing.add(n);
            if (!missing.isEmpty()) {
                throw new FormatException(dir, "rank director" + (missing.size() == 1 ? "y " : "ies ")
                        + abbreviate(missing) + " missing: args say TP=" + tp + ", PP=" + pp + ", EP=" + ep
                        + " (" + expected.size() + " rank directories); the checkpoint is incomplete");
            }
            List<String> extra = new ArrayList<>();
            for (String n : found.keySet()) if (!expected.containsKey(n)) extra.add(n);
            if (!extra.isEmpty()) {
                throw new FormatException(dir, "unexpected rank director" + (extra.size() == 1 ? "y " : "ies ")
                        + abbreviate(extra) + ": args of " + firstName + " say TP=" + tp + ", PP=" + pp + ", EP=" + ep
                        + " (expected " + abbreviate(new ArrayList<>(expected.keySet())) + ")");
            }
            List<LegacyRank> ranks = new ArrayList<>(expected.size());
            for (Map.Entry<String, RankId> e : expected.entrySet()) {
                LegacyRank r = e.getKey().equals(firstName) ? withId(first, e.getValue())
                        : openRank(arena, found.get(e.getKey()), e.getKey(), e.getValue());
                ranks.add(r);
            }
            ranks.sort((x, y) -> x.id().compareTo(y.id()));
            checkAgreement(dir, ranks);
            return new LegacyIteration(dir, arena, ranks, tp, pp, ep);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static LegacyRank withId(LegacyRank r, RankId id) {
        return new LegacyRank(id, r.dirName(), r.modelArchive(), r.distribOptimArchive().orElse(null));
    }

    private static Map<String, Path> rankDirs(Path dir) {
        Map<String, Path> out = new TreeMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String n = p.getFileName().toString();
                if (Files.isDirectory(p) && RankId.numbers(n).isPresent()) out.put(n, p);
            }
        } catch (IOException e) {
            throw new FormatException(dir, "cannot list: " + e.getMessage(), e);
        }
        return out;
    }

    private static int size(Path dir, MegatronArgs a, String field) {
        long v = a.getLong(field, 1);
        if (v < 1 || v > 1 << 20) throw new FormatException(dir, "args." + field + " = " + v + " is not a valid parallel size");
        return (int) v;
    }

    private static void checkExpertTensorParallel(Path dir, MegatronArgs a, int tp) {
        long experts = a.getLong("num_experts", 0);
        long etp = a.getLong("expert_tensor_parallel_size", tp);
        // With ETP != TP the expert grid no longer lines up with the mp_rank_{tp}_{ep} directories.
        if (experts > 0 && etp != tp)
            throw new FormatException(dir, "expert tensor parallel size " + etp + " differs from tensor parallel size "
                    + tp + ": legacy MoE checkpoints with a separate expert tensor-parallel grid are not supported");
    }

    /** Directory name → coordinates for every rank a job of these sizes saves, in Megatron's naming. */
    static Map<String, RankId> expectedRanks(int tp, int pp, int ep) {
        Map<String, RankId> out = new TreeMap<>();
        for (int p = 0; p < pp; p++)
            for (int e = 0; e < ep; e++)
                for (int t = 0; t < tp; t++) {
                    RankId id = new RankId(t, p, e);
                    out.put(id.dirName(pp > 1, ep > 1), id);
                }
        return out;
    }

    private static String abbreviate(List<String> names) {
        if (names.size() <= 4) return String.join(", ", names);
        return String.join(", ", names.subList(0, 4)) + " and " + (names.size() - 4) + " more";
    }

    private static LegacyRank openRank(Arena arena, Path rankDir, String name, RankId id) {
        Path modelFile = rankDir.resolve(LegacyRank.MODEL_FILE);
        if (!Files.isRegularFile(modelFile))
            throw new FormatException(modelFile, "missing: every rank directory holds a " + LegacyRank.MODEL_FILE);
        TorchSaveArchive model = archive(arena, modelFile);
        Path optimFile = rankDir.resolve(LegacyRank.DISTRIB_OPTIM_FILE);
        TorchSaveArchive optim = Files.isRegularFile(optimFile) ? archive(arena, optimFile) : null;
        return new LegacyRank(id == null ? new RankId(0, 0, 0) : id, name, model, optim);
    }

    private static TorchSaveArchive archive(Arena arena, Path file) {
        MemorySegment seg;
        try (FileChannel ch = RegularFiles.openRead(file)) {
            if (ch.size() < 4) throw new FormatException(file, "file of " + ch.size() + " bytes is not a torch.save archive");
            seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        } catch (NoSuchFileException e) {
            throw new FormatException(file, "missing");
        } catch (IOException e) {
            throw new FormatException(file, "cannot read: " + e.getMessage(), e);
        }
        if (!ZipArchive.startsLikeZip(seg))
            throw new FormatException(file, "not a zip torch.save archive (a pre-1.6 legacy torch.save stream?): "
                    + "only zip-format legacy checkpoints are read");
        return TorchSaveArchive.open(file, seg);
    }

    private static void checkAgreement(Path dir, List<LegacyRank> ranks) {
        LegacyRank ref = ranks.getFirst();
        Double version = ref.checkpointVersion();
        if (version == null)
            throw new FormatException(ref.modelArchive().file(), "no checkpoint_version: a Megatron checkpoint from "
                    + "before version 2.0, whose QKV rows are ordered differently; convert it with Megatron first");
        if (version < 2.0)
            throw new FormatException(ref.modelArchive().file(), "checkpoint_version " + version + " < 2.0: QKV rows "
                    + "are in the pre-2.0 order (fix_query_key_value_ordering); convert it with Megatron first");
        boolean distrib = ref.distribOptimArchive().isPresent();
        for (LegacyRank r : ranks.subList(1, ranks.size())) {
            ArgsAgreement.check(dir, ref.dirName(), ref.args(), r.dirName(), r.args());
            if (!Objects.equals(ref.iteration(), r.iteration()))
                throw new FormatException(dir, ref.dirName() + " and " + r.dirName() + " disagree on the iteration ("
                        + ref.iteration() + " vs " + r.iteration() + "): the rank directories do not come from the same save");
            if (!Objects.equals(version, r.checkpointVersion()))
                throw new FormatException(dir, ref.dirName() + " and " + r.dirName() + " disagree on checkpoint_version ("
                        + version + " vs " + r.checkpointVersion() + ")");
            if (distrib != r.distribOptimArchive().isPresent()) {
                LegacyRank without = distrib ? r : ref;
                throw new FormatException(dir.resolve(without.dirName()).resolve(LegacyRank.DISTRIB_OPTIM_FILE),
                        "missing, while other ranks have one: the distributed optimizer state is incomplete");
            }
        }
    }

    @Override
    public void checkRecords(boolean on) {
        for (LegacyRank r : ranks) {
            r.modelArchive().checkRecords(on);
            r.distribOptimArchive().ifPresent(a -> a.checkRecords(on));
        }
    }

    public Path dir() {
        return dir;
    }

    /** All ranks, ordered by pipeline stage, expert rank, then tensor rank. */
    public List<LegacyRank> ranks() {
        return ranks;
    }

    public LegacyRank rank(int tp, int pp, int ep) {
        for (LegacyRank r : ranks) if (r.id().equals(new RankId(tp, pp, ep))) return r;
        throw new IllegalArgumentException("no rank tp=" + tp + " pp=" + pp + " ep=" + ep);
    }

    /** The args of rank 0 (all ranks agree on the architecture fields). */
    public MegatronArgs args() {
        return args;
    }

    public int tensorParallel() {
        return tensorParallel;
    }

    public int pipelineParallel() {
        return pipelineParallel;
    }

    public int expertParallel() {
        return expertParallel;
    }

    public PipelineSplit pipelineSplit() {
        return split;
    }

    /** From the saved state, else from the directory name ({@code iter_0000010} → 10, {@code release} → 0). */
    public Long iteration() {
        Long it = ranks.getFirst().iteration();
        if (it != null) return it;
        String n = dir.getFileName() == null ? "" : dir.getFileName().toString();
        if (n.matches("iter_\\d{1,18}")) return Long.parseLong(n.substring(5));
        return n.equals("release") ? 0L : null;
    }

    public double checkpointVersion() {
        return ranks.getFirst().checkpointVersion();
    }

    public boolean hasDistributedOptimizerState() {
        return ranks.getFirst().distribOptimArchive().isPresent();
    }

    public ModelConfig model() {
        return ModelConfig.from(args);
    }

    /**
     * The distributed optimizer's {@code distrib_optim.pt} is {@code get_parameter_state_dp_zero}'s dict, the same
     * content torch_dist calls {@code dp_zero_gather_scatter}; null without it.
     */
    public ParallelLayout parallelism() {
        return ParallelLayout.from(args, hasDistributedOptimizerState() ? "dp_zero_gather_scatter" : null);
    }

    public String era() {
        return "Megatron legacy torch (checkpoint_version " + checkpointVersion() + ")";
    }

    /** Rank directory names in order, for reports. */
    public List<String> rankDirNames() {
        List<String> out = new ArrayList<>(ranks.size());
        for (LegacyRank r : ranks) out.add(r.dirName());
        return Collections.unmodifiableList(out);
    }

    @Override
    public void close() {
        arena.close();
    }
}
