package ckpt.convert.rotation;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Completeness from file names alone (FORMATS.md §3.1, §4.2, §4.8, §6.1):
 * <ul>
 *   <li>torch_dist ({@code metadata.json} present): {@code .metadata} and {@code metadata.json} non-empty, every
 *       {@code __*.distcp} a readable regular file. Megatron writes {@code metadata.json} last.</li>
 *   <li>Megatron {@code iter_*}/{@code release} with {@code .metadata} or {@code *.distcp} but no
 *       {@code metadata.json}: an unfinished torch_dist save, so incomplete. (A Megatron {@code torch_dcp} /
 *       {@code fsdp_dtensor} checkpoint looks the same and is therefore never treated as complete.)</li>
 *   <li>legacy ({@code mp_rank_*} dirs): every {@code mp_rank_*} has {@code model_optim_rng.pt}.</li>
 *   <li>DeepSpeed: optimizer states for ranks 0…n-1 without gaps, and the model states they need.</li>
 *   <li>plain DCP (step dirs): non-empty {@code .metadata}, every {@code *.distcp} readable.</li>
 * </ul>
 * It cannot see a file that is present but truncated; that is the deeper check's job.
 */
public final class FileLevelCompletenessCheck implements CompletenessCheck {

    @Override
    public Status check(Path dir) throws IOException {
        Contents c = Contents.scan(dir);
        Optional<CheckpointKind> kind = CheckpointName.parse(dir.getFileName().toString()).map(CheckpointName::kind);
        boolean megatron = kind.isPresent()
                && (kind.get() == CheckpointKind.MEGATRON_ITERATION || kind.get() == CheckpointKind.MEGATRON_RELEASE);

        if (c.metadataJson || (megatron && (c.dcpMetadata || !c.distcp.isEmpty()))) {
            List<String> problems = new ArrayList<>();
            requireNonEmpty(dir, ".metadata", c.dcpMetadata, problems);
            requireNonEmpty(dir, "metadata.json", c.metadataJson, problems);
            requireReadable(c.distcp, problems);
            return status(Layout.TORCH_DIST, problems);
        }
        if (!c.mpRankDirs.isEmpty()) {
            List<String> problems = new ArrayList<>();
            for (Path rank : c.mpRankDirs) {
                if (!Files.isRegularFile(rank.resolve("model_optim_rng.pt"))) {
                    problems.add("no " + rank.getFileName() + "/model_optim_rng.pt");
                }
            }
            return status(Layout.LEGACY_TORCH, problems);
        }
        if (c.modelStates || !c.optimRanks.isEmpty()) return status(Layout.DEEPSPEED, deepSpeedProblems(c));
        if (kind.isPresent() && kind.get() == CheckpointKind.DEEPSPEED) {
            return Status.incomplete(Layout.DEEPSPEED, List.of("no *_model_states.pt"));
        }
        if (c.dcpMetadata || !c.distcp.isEmpty()) {
            List<String> problems = new ArrayList<>();
            requireNonEmpty(dir, ".metadata", c.dcpMetadata, problems);
            requireReadable(c.distcp, problems);
            return status(Layout.DCP, problems);
        }
        return Status.incomplete(Layout.UNKNOWN, List.of(megatron
                ? "no .metadata, metadata.json or mp_rank_* (nothing written yet?)"
                : "no .metadata (nothing written yet?)"));
    }

    /**
     * DeepSpeed by names: one optimizer file per rank 0…n-1 without gaps, ZeRO-3's per-rank model states for the same
     * ranks, else {@code mp_rank_00_model_states.pt}. The saved world size is the deeper check's
     * ({@link DeepSpeedCompletenessCheck}).
     */
    private static List<String> deepSpeedProblems(Contents c) {
        List<String> problems = new ArrayList<>();
        java.util.TreeSet<Integer> ranks = new java.util.TreeSet<>(c.optimRanks);
        for (int r = 0; !ranks.isEmpty() && r <= ranks.last(); r++)
            if (!ranks.contains(r)) problems.add("no optimizer states of rank " + r);
        if (!c.zeroModelRanks.isEmpty()) {
            for (Integer r : ranks) if (!c.zeroModelRanks.contains(r)) problems.add("no model states of rank " + r);
        } else if (!c.mp00) {
            problems.add("no mp_rank_00_model_states.pt");
        }
        return problems;
    }

    private static Status status(Layout layout, List<String> problems) {
        return problems.isEmpty() ? Status.complete(layout) : Status.incomplete(layout, problems);
    }

    private static void requireNonEmpty(Path dir, String name, boolean present, List<String> problems) throws IOException {
        if (!present) {
            problems.add("no " + name);
        } else if (Files.size(dir.resolve(name)) == 0) {
            problems.add(name + " is empty");
        }
    }

    private static void requireReadable(List<Path> files, List<String> problems) {
        for (Path f : files) {
            if (!Files.isRegularFile(f) || !Files.isReadable(f)) problems.add(f.getFileName() + " is not readable");
        }
    }

    /** The names in a checkpoint directory that the rules above look at. */
    private record Contents(boolean dcpMetadata, boolean metadataJson, boolean modelStates,
                            List<Path> distcp, List<Path> mpRankDirs, boolean mp00, List<Integer> optimRanks,
                            List<Integer> zeroModelRanks) {
        static Contents scan(Path dir) throws IOException {
            boolean dcpMetadata = false, metadataJson = false, modelStates = false, mp00 = false;
            List<Integer> optimRanks = new ArrayList<>(), zeroModelRanks = new ArrayList<>();
            List<Path> distcp = new ArrayList<>();
            List<Path> mpRank = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
                for (Path p : ds) {
                    String n = p.getFileName().toString();
                    if (n.equals(".metadata")) dcpMetadata = Files.isRegularFile(p);
                    else if (n.equals("metadata.json")) metadataJson = Files.isRegularFile(p);
                    else if (n.endsWith(".distcp")) distcp.add(p);
                    else if (n.endsWith("model_states.pt") || n.endsWith("_optim_states.pt")) {
                        modelStates |= n.endsWith("model_states.pt");
                        ckpt.format.deepspeed.ZeroFileName.parse(n).ifPresent(z -> {
                            switch (z.kind()) {
                                case OPTIM_STATES -> optimRanks.add(z.dpRank());
                                case ZERO_MODEL_STATES -> zeroModelRanks.add(z.dpRank());
                                default -> {
                                }
                            }
                        });
                        mp00 |= n.equals(ckpt.format.deepspeed.ZeroFileName.modelStates(0));
                    }
                    else if (n.startsWith("mp_rank_") && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) mpRank.add(p);
                }
            }
            distcp.sort(null);
            mpRank.sort(null);
            return new Contents(dcpMetadata, metadataJson, modelStates, distcp, mpRank, mp00, optimRanks, zeroModelRanks);
        }
    }
}
