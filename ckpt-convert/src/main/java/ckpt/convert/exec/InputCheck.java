package ckpt.convert.exec;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.FileEntry;
import ckpt.convert.index.TensorPiece;
import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.CopyItem;
import ckpt.convert.plan.OutputTensor;
import ckpt.format.FormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks made before any byte moves, from metadata and file sizes only, so that a checkpoint that cannot be
 * converted fails at once with one line saying why — not after minutes of work, and not with a message about what
 * the missing files would have told (layer counts, activations).
 */
public final class InputCheck {
    private InputCheck() {
    }

    /** Every data file the checkpoint's metadata references must be on disk (a metadata-only copy has none). */
    public static void requireDataFiles(CheckpointIndex index) {
        List<FileEntry> missing = index.files().stream().filter(f -> f.referenced() && !f.present()).toList();
        if (missing.isEmpty()) return;
        long referenced = index.files().stream().filter(FileEntry::referenced).count();
        String what = missing.size() == referenced
                ? "metadata only: none of the " + referenced + " data files its metadata references is present"
                : missing.size() + " of the " + referenced + " data files its metadata references are missing";
        throw new FormatException(index.path(), what + " (e.g. " + missing.getFirst().name() + "), nothing to convert");
    }

    /**
     * Every stored record the plan reads must lie inside its file: a truncated shard fails here, naming the file and
     * the key, before the output is created. Files the index cannot name are left to the readers' own checks.
     */
    static void requireRecords(CheckpointIndex index, ConversionPlan plan) {
        Path base = Files.isDirectory(index.path()) ? index.path() : index.path().getParent();
        Map<String, Long> sizes = new HashMap<>();
        for (OutputTensor t : plan.tensors())
            for (CopyItem it : t.items()) {
                if (it.isZeroFill()) continue;
                for (TensorPiece p : it.source().tensor().pieces()) {
                    if (it.source().box().rank() > 0 && p.box().intersect(it.source().box()) == null) continue;
                    String file = p.source().file();
                    long size = sizes.computeIfAbsent(file, f -> sizeOf(base, f));
                    long end = p.source().offset() + p.source().length();
                    if (size >= 0 && end > size)
                        throw new FormatException(base.resolve(file), "key " + it.source().key(), "the file is " + size
                                + " bytes but the metadata places a record up to byte " + end + ": truncated data file");
                }
            }
    }

    private static long sizeOf(Path base, String file) {
        try {
            Path p = base == null ? Path.of(file) : base.resolve(file);
            return Files.isRegularFile(p) ? Files.size(p) : -1;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
