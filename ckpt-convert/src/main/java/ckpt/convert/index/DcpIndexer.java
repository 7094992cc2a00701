package ckpt.convert.index;

import ckpt.format.dcp.ChunkList;
import ckpt.format.dcp.ChunkStorageMetadata;
import ckpt.format.dcp.DcpCheckpoint;
import ckpt.format.dcp.DcpMetadata;
import ckpt.format.dcp.StorageInfo;
import ckpt.format.dcp.TensorStorageMetadata;
import ckpt.format.megatron.KeyCategory;
import ckpt.format.megatron.MegatronCheckpoint;
import ckpt.format.megatron.MegatronKeys;
import ckpt.format.tensor.StridedView;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiFunction;
import java.util.stream.Stream;

/** Builds a {@link CheckpointIndex} from a DCP directory, plain or written by Megatron's torch_dist backend. */
public final class DcpIndexer {
    private DcpIndexer() {
    }

    public static CheckpointIndex megatron(MegatronCheckpoint ckpt) {
        DcpCheckpoint dcp = ckpt.dcp();
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("metadata_class", dcp.metadata().metadataClass());
        details.put("dcp_version", dcp.metadata().version());
        details.put("sharded_backend", ckpt.config().shardedBackend());
        details.put("common_state", ckpt.commonSource());
        details.put("checkpoint_version", ckpt.checkpointVersion());
        details.put("optimizer_format", ckpt.optimizerFormat());
        details.put("storage_records", dcp.metadata().storageRecordCount());
        details.put("all_local_plans", dcp.metadata().hasAllLocalPlans());
        List<GlobalTensor> tensors = tensors(dcp, (k, path) -> MegatronKeys.classify(k, true));
        List<ObjectEntry> objects = objects(dcp, (k, path) -> MegatronKeys.classify(k, false));
        List<FileEntry> files = files(ckpt.dir(), dcp.metadata());
        return new CheckpointIndex(ckpt.dir(), CheckpointFormat.MEGATRON_TORCH_DIST, ckpt.era(), ckpt.iteration(),
                ckpt.model(), ckpt.parallelism(), ckpt.args().toPlainMap(), tensors, objects, files, details, ckpt);
    }

    public static CheckpointIndex plain(DcpCheckpoint dcp) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("metadata_class", dcp.metadata().metadataClass());
        details.put("dcp_version", dcp.metadata().version());
        details.put("storage_records", dcp.metadata().storageRecordCount());
        details.put("flattened", !dcp.metadata().plannerData().isEmpty());
        BiFunction<String, List<Object>, KeyCategory> tc = (k, path) -> DcpKeys.classify(k, path, true);
        BiFunction<String, List<Object>, KeyCategory> oc = (k, path) -> DcpKeys.classify(k, path, false);
        return new CheckpointIndex(dcp.dir(), CheckpointFormat.DCP, "PyTorch DCP" + (dcp.metadata().version() == null ? ""
                : " (metadata version " + dcp.metadata().version() + ")"), null, null, null, Map.of(),
                tensors(dcp, tc), objects(dcp, oc), files(dcp.dir(), dcp.metadata()), details, dcp);
    }

    private static List<GlobalTensor> tensors(DcpCheckpoint dcp, BiFunction<String, List<Object>, KeyCategory> classify) {
        DcpMetadata md = dcp.metadata();
        List<GlobalTensor> out = new ArrayList<>(md.tensors().size());
        for (TensorStorageMetadata t : md.tensors().values()) {
            List<ChunkStorageMetadata> chunks = t.chunks();
            List<TensorPiece> pieces = new PieceList(chunks.size(), i -> {
                ChunkStorageMetadata c = chunks.get(i);
                return new TensorPiece(c.box(), new DcpChunkSource(dcp, t, c, md.storageOf(t.fqn(), c)));
            }, chunks instanceof ChunkList columns ? new ChunkRecords(columns) : null);
            out.add(new GlobalTensor(t.fqn(), t.dtype(), t.size(), classify.apply(t.fqn(), md.plannerData().get(t.fqn())), pieces));
        }
        return out;
    }

    private static List<ObjectEntry> objects(DcpCheckpoint dcp, BiFunction<String, List<Object>, KeyCategory> classify) {
        DcpMetadata md = dcp.metadata();
        List<ObjectEntry> out = new ArrayList<>();
        for (String k : md.bytesItems()) {
            StorageInfo info = md.storageOf(k);
            out.add(new ObjectEntry(k, classify.apply(k, md.plannerData().get(k)), info.relativePath(), info.offset(), info.length()));
        }
        return out;
    }

    /**
     * Every regular file of the directory plus every file the metadata references. A referenced file that is not on
     * disk gets the size its records imply (the end of its last record), and is flagged absent.
     */
    static List<FileEntry> files(Path dir, DcpMetadata md) {
        Map<String, Long> implied = md.recordEnds(); // the furthest record end of each file
        Map<String, FileEntry> out = new TreeMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (!Files.isRegularFile(p)) continue;
                String n = p.getFileName().toString();
                out.put(n, new FileEntry(n, Files.size(p), true, implied.containsKey(n)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        new TreeMap<>(implied).forEach((n, end) -> out.putIfAbsent(n, new FileEntry(n, end, false, true)));
        return List.copyOf(out.values());
    }

    /** The pieces' element counts and records, read from the metadata's chunk columns. */
    private record ChunkRecords(ChunkList chunks) implements PieceRecords {
        @Override
        public int size() {
            return chunks.size();
        }

        @Override
        public long numel(int i) {
            return chunks.numel(i);
        }

        @Override
        public String file(int i) {
            return chunks.recordPath(i);
        }

        @Override
        public long offset(int i) {
            return chunks.recordOffset(i);
        }

        @Override
        public long length(int i) {
            return chunks.recordLength(i);
        }
    }

    /** A DCP chunk: the item's record in its {@code .distcp} file, decoded on open. */
    record DcpChunkSource(DcpCheckpoint dcp, TensorStorageMetadata tensor, ChunkStorageMetadata chunk, StorageInfo info)
            implements PieceSource {
        @Override
        public String file() {
            return info.relativePath();
        }

        @Override
        public long offset() {
            return info.offset();
        }

        @Override
        public long length() {
            return info.length();
        }

        @Override
        public StridedView open() {
            return dcp.chunkView(tensor, chunk);
        }
    }
}
