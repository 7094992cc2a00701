package ckpt.convert.index;

import ckpt.format.FormatException;
import ckpt.format.megatron.ModelConfig;
import ckpt.format.megatron.ParallelLayout;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One view over any checkpoint ckpt reads: global tensors with the pieces that hold them, non-tensor entries,
 * files, and (for Megatron) the model config and parallel layout. Built from metadata alone; tensor bytes are read
 * only when a piece is opened. Holds the open files: close it when done.
 *
 * @param path        the directory or file the index was built from (an iteration dir for a Megatron save dir)
 * @param era         writer generation, e.g. "Megatron core >= 0.19 (common state in DCP)"
 * @param args        the saved training args as plain values (empty when the format has none)
 * @param details     format-specific facts worth showing (DCP version, metadata class, optimizer format…)
 */
public record CheckpointIndex(Path path, CheckpointFormat format, String era, Long iteration, ModelConfig config,
                              ParallelLayout parallelism, Map<String, Object> args, List<GlobalTensor> tensors,
                              List<ObjectEntry> objects, List<FileEntry> files, Map<String, Object> details,
                              AutoCloseable resources) implements AutoCloseable {

    public CheckpointIndex {
        tensors = List.copyOf(tensors);
        objects = List.copyOf(objects);
        files = List.copyOf(files);
        args = args == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(args));
        details = details == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(details));
    }

    /**
     * Every size the metadata declares, and their sum, fits in 64 bits: everything downstream (inspect's totals,
     * plans, offsets) then computes on checked values. A shape of 2^62 × 2^62 or a chunk near 2^63 elements is a
     * corrupt or hostile file, named here by its tensor key.
     */
    public void requireSizesFit() {
        // the file that declares the sizes: a DCP's .metadata, else the checkpoint itself
        Path declared = path.resolve(".metadata");
        if (!java.nio.file.Files.isRegularFile(declared)) declared = path;
        long total = 0, stored = 0;
        for (GlobalTensor t : tensors) {
            try {
                total = Math.addExact(total, t.byteSize());
            } catch (ArithmeticException e) {
                throw FormatException.atKey(declared, t.key(), "shape " + java.util.Arrays.toString(t.shape()) + " of "
                        + t.dtype() + " declares more bytes than 64 bits can count, or the tensors together do");
            }
            PieceRecords pieces = t.pieceRecords();
            for (int i = 0; i < pieces.size(); i++) {
                try {
                    stored = Math.addExact(stored, Math.multiplyExact(pieces.numel(i), (long) t.dtype().byteSize()));
                } catch (ArithmeticException e) {
                    TensorPiece p = t.pieces().get(i);
                    throw FormatException.atKey(declared, t.key(), "a chunk of size " + java.util.Arrays.toString(p.box().sizes())
                            + " in " + p.source().file() + " declares more bytes than 64 bits can count, or the chunks together do");
                }
            }
        }
    }

    public Optional<GlobalTensor> tensor(String key) {
        for (GlobalTensor t : tensors) if (t.key().equals(key)) return Optional.of(t);
        return Optional.empty();
    }

    public Map<String, GlobalTensor> tensorsByKey() {
        Map<String, GlobalTensor> m = new LinkedHashMap<>();
        for (GlobalTensor t : tensors) m.put(t.key(), t);
        return m;
    }

    /** Whether every data file the metadata references is on disk. */
    public boolean dataPresent() {
        return files.stream().filter(FileEntry::referenced).allMatch(FileEntry::present);
    }

    public long totalFileBytes() {
        return files.stream().mapToLong(FileEntry::bytes).sum();
    }

    /** Unmaps the source regions the calling thread read so far, where the reader maps on demand; its earlier piece views become invalid. */
    public void releaseMappings() {
        if (resources instanceof ckpt.format.MappedSource m) m.releaseMappings();
    }

    /**
     * Whether opened pieces are checked against their stored checksums (zip CRC-32) before use; on by default.
     * Formats without checksums (safetensors, legacy torch.save streams) are unaffected.
     */
    public void checkRecords(boolean on) {
        if (resources instanceof ckpt.format.RecordChecks r) r.checkRecords(on);
    }

    @Override
    public void close() {
        if (resources == null) return;
        try {
            resources.close();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
