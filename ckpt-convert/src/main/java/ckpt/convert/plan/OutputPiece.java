package ckpt.convert.plan;

import ckpt.convert.index.TensorPiece;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.Shapes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One unit of parallel work: a part of an output tensor that is one contiguous byte range of it (leading axes of
 * size 1, one axis cut, trailing axes whole), with the plan's copies clipped to it. Parts of a tensor are numbered in
 * byte order, so per-part checksums combine in that order.
 *
 * @param part   index of this part among the tensor's {@code parts}, in byte order
 * @param box    the part in the tensor's coordinates
 * @param items  the tensor's copies clipped to {@code box}, in the piece's own coordinates (the piece's bytes are a
 *               row-major tensor of shape {@code box.sizes()})
 */
public record OutputPiece(OutputTensor tensor, int part, int parts, Box box, long byteOffset, long byteLength,
                          List<CopyItem> items) {
    public OutputPiece {
        items = List.copyOf(items);
    }

    /**
     * {@code t} cut into contiguous parts of at most {@code maxBytes} of output and of source bytes each (a single
     * row of elements larger than that is cut along its own axis, down to one element), so that the memory one
     * worker touches is bounded whatever the tensor's size.
     */
    public static List<OutputPiece> split(OutputTensor t, long maxBytes) {
        long[] shape = t.shape();
        int n = shape.length;
        long es = Math.max(t.dtype().byteSize(), t.sourceDtype().byteSize());
        long maxElems = Math.max(1, maxBytes / es);
        List<Box> boxes = new ArrayList<>();
        if (n == 0 || t.numel() <= maxElems) {
            boxes.add(Box.whole(shape));
        } else {
            // Axis k is cut into runs of `step` rows of `inner` elements; axes before it are walked one index at a time.
            int k = n - 1;
            long inner = 1;
            while (k > 0 && shape[k] <= maxElems / inner) inner *= shape[k--];
            long step = Math.max(1, maxElems / inner);
            long[] idx = new long[k];
            while (true) {
                for (long r = 0; r < shape[k]; r += step) {
                    long[] o = new long[n], s = shape.clone();
                    for (int i = 0; i < k; i++) {
                        o[i] = idx[i];
                        s[i] = 1;
                    }
                    o[k] = r;
                    s[k] = Math.min(step, shape[k] - r);
                    boxes.add(new Box(o, s));
                }
                int a = k - 1;
                while (a >= 0 && ++idx[a] == shape[a]) idx[a--] = 0;
                if (a < 0) break;
            }
        }
        long[] strides = Shapes.contiguousStrides(shape);
        int esOut = t.dtype().byteSize();
        List<OutputPiece> out = new ArrayList<>(boxes.size());
        for (int p = 0; p < boxes.size(); p++) {
            Box b = boxes.get(p);
            long first = 0;
            for (int i = 0; i < n; i++) first += b.offset(i) * strides[i];
            List<CopyItem> items = new ArrayList<>();
            for (CopyItem it : t.items())
                if (it.numel() > 0) it.within(b).ifPresent(items::add);
            out.add(new OutputPiece(t, p, boxes.size(), b, first * esOut, b.numel() * esOut, items));
        }
        return out;
    }

    /**
     * Where this piece starts reading: the file and record offset of the first stored piece its first copy reads,
     * so that workers taking pieces in this order read each source file front to back.
     */
    public ReadPosition readPosition() {
        for (CopyItem it : items) {
            if (it.isZeroFill()) continue;
            TensorSlice s = it.source();
            for (TensorPiece p : s.tensor().pieces())
                if (s.box().rank() == 0 || p.box().intersect(s.box()) != null)
                    return new ReadPosition(p.source().file(), p.source().offset());
        }
        return ReadPosition.NONE;
    }

    /** A (file, byte) position in the source checkpoint, ordered by file name then offset. */
    public record ReadPosition(String file, long offset) implements Comparable<ReadPosition> {
        static final ReadPosition NONE = new ReadPosition("", -1);

        @Override
        public int compareTo(ReadPosition o) {
            int c = file.compareTo(o.file);
            return c != 0 ? c : Long.compare(offset, o.offset);
        }
    }

    @Override
    public String toString() {
        return tensor.name() + " part " + (part + 1) + "/" + parts + " " + box + " " + Arrays.toString(tensor.shape());
    }
}
