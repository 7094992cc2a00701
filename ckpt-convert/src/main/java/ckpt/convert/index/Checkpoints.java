package ckpt.convert.index;

import ckpt.format.DetectedFormat;
import ckpt.format.FormatException;
import ckpt.format.Formats;
import ckpt.format.RegularFiles;
import ckpt.format.dcp.DcpCheckpoint;
import ckpt.format.megatron.MegatronCheckpoint;
import ckpt.format.megatron.SaveDir;
import ckpt.format.megatron.legacy.LegacyIteration;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Opens any path a user gives as a {@link CheckpointIndex}: a Megatron save dir (→ the iteration its tracker
 * names), an {@code iter_*} dir (torch_dist, or legacy {@code mp_rank_*} rank dirs), a plain DCP dir, a safetensors file or directory, a {@code torch.save} file. What
 * the path is comes from {@link Formats#detect}; when nothing matches, the error says what was looked for.
 */
public final class Checkpoints {
    private Checkpoints() {
    }

    public static CheckpointIndex open(Path path) {
        if (!Files.exists(path)) throw new FormatException(path, "no such file or directory");
        try {
            CheckpointIndex index = openChecked(path);
            try {
                index.requireSizesFit();
            } catch (RuntimeException e) {
                index.close();
                throw e;
            }
            return index;
        } catch (FormatException e) {
            throw e.under(path); // a tensor-level error (no file) names the checkpoint
        } catch (ArithmeticException e) {
            // every value reaching this arithmetic came from the checkpoint's files
            throw new FormatException(path, "sizes in the checkpoint's metadata overflow 64 bits", e);
        } catch (NumberFormatException e) {
            // a number in a name or text of the input that a parse did not expect (the JDK's message is code-speak)
            throw new FormatException(path, "a number in the checkpoint is not an integer or does not fit 64 bits", e);
        } catch (IllegalArgumentException e) {
            throw new FormatException(path, "inconsistent checkpoint: " + e.getMessage(), e);
        }
    }

    private static CheckpointIndex openChecked(Path path) {
        RegularFiles.require(path);
        RegularFiles.requireEntries(path);
        DetectedFormat kind = Formats.detect(path);
        if (kind == DetectedFormat.MEGATRON_SAVE_DIR) {
            Path iteration = SaveDir.open(path).latest().path();
            // The tracker leads one level down only: an iteration that looks like a save dir again is not followed.
            kind = Formats.detect(iteration);
            if (kind == DetectedFormat.MEGATRON_SAVE_DIR)
                throw new FormatException(iteration, "iteration directory looks like another Megatron save dir");
            path = iteration;
            RegularFiles.requireEntries(path);
        }
        return switch (kind) {
            case MEGATRON_TORCH_DIST_ITERATION -> DcpIndexer.megatron(MegatronCheckpoint.open(path));
            case DCP_DIR -> DcpIndexer.plain(DcpCheckpoint.open(path));
            case HF_SAFETENSORS_DIR, SAFETENSORS_FILE -> SafetensorsIndexer.open(path);
            case TORCH_SAVE_FILE -> TorchSaveIndexer.open(path);
            // Megatron legacy --ckpt-format torch: one mp_rank_* directory per model-parallel rank (FORMATS.md §4.8).
            case MEGATRON_LEGACY_ITERATION -> LegacyIndexer.index(LegacyIteration.open(path));
            case DEEPSPEED_DIR -> DeepSpeedIndexer.open(DeepSpeedCheckpoints.tagDir(path));
            case MEGATRON_SAVE_DIR, UNKNOWN -> throw unknown(path);
        };
    }

    private static FormatException unknown(Path path) {
        if (Files.isDirectory(path) && hasDistcp(path))
            return new FormatException(path, "incomplete save: .distcp data files but no .metadata — the job was probably interrupted while saving");
        String name = path.getFileName() == null ? "" : path.getFileName().toString();
        if (name.endsWith(".distcp") || name.equals(".metadata"))
            return new FormatException(path, "part of a DCP checkpoint: open the directory that holds it instead");
        if (isEmptyFile(path))
            return new FormatException(path, "empty file (0 bytes): not a checkpoint (a save or copy that stopped before writing it?)");
        return new FormatException(path, "not a checkpoint ckpt can read: expected a Megatron save dir "
                + "(latest_checkpointed_iteration.txt / iter_*), an iteration dir (metadata.json + .metadata, or mp_rank_* dirs), "
                + "a PyTorch DCP dir (.metadata + *.distcp), a safetensors file or directory, or a torch.save file");
    }

    private static boolean isEmptyFile(Path path) {
        try {
            return Files.isRegularFile(path) && Files.size(path) == 0;
        } catch (java.io.IOException e) {
            return false; // unreadable: the general message below
        }
    }

    private static boolean hasDistcp(Path dir) {
        try (var s = Files.list(dir)) {
            return s.anyMatch(p -> p.getFileName().toString().endsWith(".distcp"));
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
