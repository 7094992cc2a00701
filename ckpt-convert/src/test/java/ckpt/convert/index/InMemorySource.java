package ckpt.convert.index;

import ckpt.format.tensor.DType;
import ckpt.format.tensor.StridedView;

import java.lang.foreign.MemorySegment;

/** A contiguous float32 tensor held in memory, standing in for a stored record in synthetic indexes. */
public record InMemorySource(String file, MemorySegment seg, long[] shape) implements PieceSource {
    @Override
    public long offset() {
        return 0;
    }

    @Override
    public long length() {
        return seg.byteSize();
    }

    @Override
    public StridedView open() {
        return StridedView.contiguous(seg, DType.FLOAT32, shape);
    }
}
