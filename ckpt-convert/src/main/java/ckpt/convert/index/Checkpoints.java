package ckpt.convert.index;

import ckpt.format.FormatException;
import ckpt.format.dcp.DcpCheckpoint;
import ckpt.format.dcp.DcpMetadataReader;
import ckpt.format.megatron.CheckpointingConfig;
import ckpt.format.megatron.MegatronCheckpoint;
import ckpt.format.megatron.SaveDir;
import ckpt.format.megatron.legacy.LegacyIteration;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Opens any path a user gives as a {@link CheckpointIndex}: a Megatron save dir (→ the iteration its tracker
 * names), an {@code iter_*} dir (torch_dist, or legacy {@code mp_rank_*} rank dirs), a plain DCP dir. When nothing
 * matches, the error says what was looked for.
 */
public final class Checkpoints {
    private Checkpoints() {
    }

    public static CheckpointIndex open(Path path) {
        if (!Files.exists(path)) throw new FormatException(path, "no such file or directory");
        if (Files.isDirectory(path)) {
            if (Files.isRegularFile(path.resolve(CheckpointingConfig.FILE)))
                return DcpIndexer.megatron(MegatronCheckpoint.open(path));
            if (Files.isRegularFile(path.resolve(DcpMetadataReader.METADATA_FILE)))
                return DcpIndexer.plain(DcpCheckpoint.open(path));
            // Megatron legacy --ckpt-format torch: one mp_rank_* directory per model-parallel rank (FORMATS.md §4.8).
            if (LegacyIteration.isLegacyIteration(path))
                return LegacyIndexer.index(LegacyIteration.open(path));
            if (SaveDir.looksLikeSaveDir(path)) {
                SaveDir.Iteration it = SaveDir.open(path).latest();
                return open(it.path());
            }
            if (hasDistcp(path))
                throw new FormatException(path, "incomplete save: .distcp data files but no .metadata — the job was probably interrupted while saving");
        }
        throw new FormatException(path, "not a checkpoint ckpt can read: expected a Megatron save dir "
                + "(latest_checkpointed_iteration.txt / iter_*), an iteration dir (metadata.json + .metadata, or mp_rank_* dirs), "
                + "or a PyTorch DCP dir (.metadata + *.distcp)");
    }

    private static boolean hasDistcp(Path dir) {
        try (var s = Files.list(dir)) {
            return s.anyMatch(p -> p.getFileName().toString().endsWith(".distcp"));
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
