package ckpt.format.dcp;

import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;
import ckpt.format.torchsave.TorchSaveWriter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A DCP save laid out before any byte is written: each rank's {@code __<rank>_0.distcp} holds its items in the order
 * they are added (torch writes a rank's bytes items before its tensors, so callers add those first), every item a
 * complete {@code torch.save} archive whose length is known up front — from dtype and shape for a tensor chunk
 * ({@link TorchSaveWriter#tensorArchiveLength}), from its serialized bytes for an object. Archives are
 * position-independent, so the files are byte-identical to what {@link DcpWriter} appends for the same items, yet
 * any process can write any item at its place, and {@code .metadata} follows from the layout alone
 * ({@link #writeMetadata}): the shape several processes need to write one save between them.
 */
public final class DcpLayout {
    /** One item and where it goes ({@link StorageInfo#relativePath()} is its rank's file). */
    public sealed interface Item permits Chunk, Bytes {
        String fqn();

        int rank();

        StorageInfo at();
    }

    /**
     * A chunk of tensor {@code fqn}, saved as {@code torch.save} of a contiguous {@code box.sizes()} tensor whose bytes
     * start at {@code dataOffset} of the file.
     */
    public record Chunk(String fqn, DType dtype, long[] globalShape, Box box, int rank, StorageInfo at, long dataOffset) implements Item {
        public Chunk {
            globalShape = globalShape.clone();
        }

        @Override
        public long[] globalShape() {
            return globalShape.clone();
        }
    }

    /** A bytes item: the {@code torch.save(value)} archive, in hand (small objects only). */
    public record Bytes(String fqn, int rank, byte[] archive, StorageInfo at) implements Item {
        public Bytes {
            archive = archive.clone();
        }

        @Override
        public byte[] archive() {
            return archive.clone();
        }
    }

    private final List<Item> items = new ArrayList<>();
    private final Map<Integer, Long> ends = new TreeMap<>();
    /** Fed as items come, so a bad item (chunk outside its tensor, a key twice) fails when added. */
    private final DcpMetadataWriter metadata = new DcpMetadataWriter();

    public Chunk addTensorChunk(String fqn, DType dtype, long[] globalShape, Box chunk, int rank) {
        metadata.addChunk(fqn, dtype, globalShape, chunk);
        TorchSaveWriter.ArchivePlan a = TorchSaveWriter.tensorArchive(dtype, chunk.sizes());
        StorageInfo at = place(rank, a.length());
        Chunk c = new Chunk(fqn, dtype, globalShape, chunk, rank, at, at.offset() + a.dataOffset());
        items.add(c);
        return c;
    }

    public Bytes addObject(String fqn, int rank, Object value) throws IOException {
        return addBytes(fqn, rank, TorchSaveWriter.objectArchive(value));
    }

    /** A bytes item whose archive the caller already has (e.g. a ShardedObject copied verbatim from another save). */
    public Bytes addBytes(String fqn, int rank, byte[] archive) {
        metadata.addBytes(fqn);
        Bytes b = new Bytes(fqn, rank, archive, place(rank, archive.length));
        items.add(b);
        return b;
    }

    private StorageInfo place(int rank, long length) {
        String file = DcpWriter.fileName(rank);
        long offset = ends.getOrDefault(rank, 0L);
        ends.put(rank, Math.addExact(offset, length));
        return new StorageInfo(file, offset, length, List.of());
    }

    /** Every item, in the order added. */
    public List<Item> items() {
        return List.copyOf(items);
    }

    /** Each rank file's length, by file name, in rank order. */
    public Map<String, Long> fileLengths() {
        Map<String, Long> out = new java.util.LinkedHashMap<>();
        ends.forEach((rank, end) -> out.put(DcpWriter.fileName(rank), end));
        return out;
    }

    /**
     * Writes {@code dir/.metadata} for this layout (storage records by rank, each rank's items in file order, as
     * torch merges the ranks' write results); the data files must be complete and forced before.
     */
    public void writeMetadata(Path dir, String checkpointId, String saveId) throws IOException {
        writeMetadata(dir, checkpointId, saveId, ckpt.format.Writeback.none());
    }

    /** {@link #writeMetadata(Path, String, String)}, forced by {@code writeback} (not at all for {@code --no-fsync}). */
    public void writeMetadata(Path dir, String checkpointId, String saveId, ckpt.format.Writeback writeback) throws IOException {
        DcpMetadataWriter m = new DcpMetadataWriter();
        for (Item it : items) {
            switch (it) {
                case Chunk c -> m.addChunk(c.fqn(), c.dtype(), c.globalShape, c.box());
                case Bytes b -> m.addBytes(b.fqn());
            }
        }
        List<Item> byRank = new ArrayList<>(items);
        byRank.sort(Comparator.comparingInt(Item::rank)); // stable: file order within a rank
        for (Item it : byRank) m.addStorage(it.fqn(), it instanceof Chunk c ? c.box().offsets() : null, it.at());
        m.storageMeta(checkpointId, saveId).writeFile(dir, writeback);
    }
}
