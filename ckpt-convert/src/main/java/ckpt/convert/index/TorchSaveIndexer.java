package ckpt.convert.index;

import ckpt.format.megatron.MegatronArgs;
import ckpt.format.megatron.ModelConfig;
import ckpt.format.pickle.PyDict;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.StridedView;
import ckpt.format.torchsave.StorageRecord;
import ckpt.format.torchsave.TensorRef;
import ckpt.format.torchsave.TorchSaveFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a {@link CheckpointIndex} over one {@code torch.save} file (zip or legacy stream).
 *
 * <ul>
 * <li>Every tensor reachable through dicts, lists, tuples and the attributes of inert objects becomes a
 *     {@link GlobalTensor} keyed by its dotted path ({@code model_state_dict.layers.0.weight}; list indices as
 *     numbers; a bare tensor saved as the whole file is {@value #ROOT_KEY}). If two paths give the same dotted key
 *     (a dict key that itself contains dots), later ones get {@code #2}, {@code #3}… and are listed in
 *     {@code details.ambiguous_keys}.</li>
 * <li>Each tensor has one piece, its whole box, whose source is its storage record in the file; {@code open()}
 *     gives the view as saved (offset and strides, so transposes and slices too). Tensors viewing one storage
 *     share that record: their pieces have the same file/offset/length, so file-size sums must count each record
 *     once — {@code details.storage_bytes} does, and {@code details.shared_storages} names the tensors of each
 *     shared record.</li>
 * <li>Non-tensor values are summarized, not decoded: every maximal subtree without a tensor (top-level
 *     {@code args}, {@code iteration}, an optimizer's {@code param_groups}) becomes one {@link ObjectEntry} with
 *     offset and size 0 — its bytes are inside the pickle and not attributable.</li>
 * <li>A top-level {@code args} (Megatron's Namespace) fills {@link CheckpointIndex#args()}, and the model config
 *     when it names the architecture; a top-level integer {@code iteration} the iteration.</li>
 * </ul>
 * Meta tensors (shape only) are listed with no piece and named in {@code details.meta_tensors}.
 */
public final class TorchSaveIndexer {
    public static final String ROOT_KEY = "<root>";

    private TorchSaveIndexer() {
    }

    public static CheckpointIndex open(Path file) {
        TorchSaveFile f = TorchSaveFile.open(file);
        try {
            return index(f);
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    private static CheckpointIndex index(TorchSaveFile f) {
        Path file = f.file();
        String fileName = file.getFileName().toString();
        boolean optimizerFile = TorchSaveKeys.isOptimizerFile(fileName);
        List<GlobalTensor> tensors = new ArrayList<>();
        List<ObjectEntry> objects = new ArrayList<>();
        Map<String, Integer> keyUses = new HashMap<>();
        List<String> ambiguous = new ArrayList<>();
        List<String> meta = new ArrayList<>();
        Map<String, List<String>> tensorsOfRecord = new LinkedHashMap<>();

        ObjectTree.walk(file, f.root(), new ObjectTree.Visitor() {
            @Override
            public void tensor(List<String> path, TensorRef t) {
                String key = unique(path.isEmpty() ? ROOT_KEY : String.join(".", path));
                List<TensorPiece> pieces = List.of();
                if (t.isMeta()) {
                    meta.add(key);
                } else {
                    StorageRecord r = f.record(t.storage());
                    pieces = List.of(new TensorPiece(Box.whole(t.shape()), new StorageSource(f, t, fileName, r)));
                    tensorsOfRecord.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(key);
                }
                tensors.add(new GlobalTensor(key, t.dtype(), t.shape(), TorchSaveKeys.tensor(path, optimizerFile), pieces));
            }

            @Override
            public void object(List<String> path, Object value) {
                String key = unique(path.isEmpty() ? ROOT_KEY : String.join(".", path));
                objects.add(new ObjectEntry(key, TorchSaveKeys.object(path, optimizerFile), fileName, 0, 0));
            }

            private String unique(String key) {
                int n = keyUses.merge(key, 1, Integer::sum);
                if (n == 1) return key;
                ambiguous.add(key);
                return key + "#" + n;
            }
        });

        Map<String, Object> details = new LinkedHashMap<>();
        details.put("container", f.legacy() ? "legacy stream" : "zip");
        Map<String, StorageRecord> records = f.records();
        long storageBytes = 0;
        for (StorageRecord r : records.values()) storageBytes += r.length();
        details.put("storage_records", records.size());
        details.put("storage_bytes", storageBytes);
        Map<String, List<String>> shared = new LinkedHashMap<>();
        tensorsOfRecord.forEach((k, keys) -> {
            if (keys.size() > 1) shared.put(k, List.copyOf(keys));
        });
        if (!shared.isEmpty()) details.put("shared_storages", shared);
        List<String> unused = records.keySet().stream().filter(k -> !tensorsOfRecord.containsKey(k)).toList();
        if (!unused.isEmpty()) details.put("unreferenced_storage_records", unused);
        if (!meta.isEmpty()) details.put("meta_tensors", List.copyOf(meta));
        if (!ambiguous.isEmpty()) details.put("ambiguous_keys", List.copyOf(ambiguous));

        Map<String, Object> args = Map.of();
        ModelConfig config = null;
        Long iteration = null;
        if (f.root() instanceof PyDict top) {
            MegatronArgs a = MegatronArgs.of(top.get("args"));
            if (top.containsKey("args") && !a.isEmpty()) {
                args = a.toPlainMap();
                // Only a Megatron-style Namespace names the architecture; a script's own args do not.
                if (a.has("num_layers") && a.has("hidden_size")) config = ModelConfig.from(a);
            }
            if (top.get("iteration") instanceof Long it) iteration = it;
            Object version = top.get("checkpoint_version");
            if (version instanceof Double || version instanceof Long) details.put("checkpoint_version", version);
        }
        String era = f.legacy() ? "torch.save legacy stream (torch < 1.6 or _use_new_zipfile_serialization=False)"
                : "torch.save zip";
        return new CheckpointIndex(file, CheckpointFormat.TORCH_SAVE, era, iteration, config, null, args, tensors,
                objects, List.of(new FileEntry(fileName, size(file), true, true)), details, f);
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A tensor's storage record in the {@code .pt} file; opening gives the tensor's view of it. */
    record StorageSource(TorchSaveFile torchFile, TensorRef tensor, String file, StorageRecord record)
            implements PieceSource {
        @Override
        public long offset() {
            return record.offset();
        }

        @Override
        public long length() {
            return record.length();
        }

        @Override
        public StridedView open() {
            return torchFile.view(tensor);
        }
    }
}
