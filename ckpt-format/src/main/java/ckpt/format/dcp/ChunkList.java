package ckpt.format.dcp;

import ckpt.format.tensor.Box;

import java.util.AbstractList;
import java.util.RandomAccess;

/**
 * A tensor's chunks as rows of {@link DcpColumns}: box row and storage-record row per chunk. Each
 * {@link ChunkStorageMetadata} is made when read, so a 405B-scale metadata keeps 8 bytes a chunk here instead of
 * five objects; consumers that walk the chunks once make short-lived ones.
 */
final class ChunkList extends AbstractList<ChunkStorageMetadata> implements RandomAccess {
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
}
