package ckpt.format.dcp;

import ckpt.format.tensor.Box;

import java.util.AbstractList;
import java.util.RandomAccess;

/**
 * A tensor's chunks as rows of {@link DcpColumns}: box row and storage-record row per chunk. Each
 * {@link ChunkStorageMetadata} is made when read, so a 405B-scale metadata keeps 8 bytes a chunk here instead of
 * five objects; consumers that walk the chunks once make short-lived ones, and those that only count elements or
 * sum records per file (inspect's size analysis, over 1.4 M chunks) read the rows without making any object.
 */
public final class ChunkList extends AbstractList<ChunkStorageMetadata> implements RandomAccess {
    private final DcpColumns columns;
    private final int[] boxes;
    private final int[] records;

    ChunkList(DcpColumns columns, int[] boxes, int[] records) {
        this.columns = columns;
        this.boxes = boxes;
        this.records = records;
    }

    @Override
    public ChunkStorageMetadata get(int i) {
        return new ChunkStorageMetadata(new Box(columns.boxOffsets(boxes[i]), columns.boxSizes(boxes[i])), columns.record(records[i]));
    }

    @Override
    public int size() {
        return boxes.length;
    }

    /** Elements of chunk {@code i}'s box, as {@link Box#numel()} computes them (overflow throws). */
    public long numel(int i) {
        int box = boxes[i];
        long n = 1;
        for (int axis = 0, rank = columns.boxRank(box); axis < rank; axis++) n = Math.multiplyExact(n, columns.boxSize(box, axis));
        return n;
    }

    /** {@link StorageInfo#relativePath()} of chunk {@code i}'s record: one String instance per distinct path. */
    public String recordPath(int i) {
        return columns.recordPath(records[i]);
    }

    /** {@link StorageInfo#offset()} of chunk {@code i}'s record. */
    public long recordOffset(int i) {
        return columns.recordOffset(records[i]);
    }

    /** {@link StorageInfo#length()} of chunk {@code i}'s record. */
    public long recordLength(int i) {
        return columns.recordLength(records[i]);
    }
}
