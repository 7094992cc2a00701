package ckpt.convert.plan;

import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;
import ckpt.format.tensor.Shapes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One tensor the output holds — a whole tensor of an HF file, or one chunk of a sharded global tensor — with the box
 * copies that fill it. Every element is written by exactly one {@link CopyItem}; sizes are known up front, so output
 * files are laid out before any byte moves.
 *
 * @param sourceDtype dtype of every source slice; {@code dtype} differs from it when the conversion casts
 * @param chunk       where the tensor sits in a sharded global tensor, or null for a whole tensor
 */
public record OutputTensor(String name, DType dtype, long[] shape, DType sourceDtype, List<CopyItem> items, Chunk chunk) {
    /**
     * The tensor is box {@code box} of global tensor {@code key} of shape {@code globalShape}, stored in output file
     * {@code file} (a rank for Megatron). The box may have more axes than the tensor (size-1 layer/expert axes of a
     * stacked tensor); the elements are the same.
     */
    public record Chunk(String key, long[] globalShape, Box box, int file) {
        public Chunk {
            globalShape = globalShape.clone();
            if (!box.fitsIn(globalShape)) throw new IllegalArgumentException(key + ": chunk " + box + " outside " + Arrays.toString(globalShape));
        }

        @Override
        public long[] globalShape() {
            return globalShape.clone();
        }
    }

    public OutputTensor {
        shape = shape.clone();
        items = List.copyOf(items);
        for (long d : shape) if (d < 0) throw new IllegalArgumentException(name + ": negative dimension");
        long covered = 0;
        for (CopyItem it : items) {
            if (!it.destination().fitsIn(shape))
                throw new IllegalArgumentException(name + ": " + it + " outside " + Arrays.toString(shape));
            if (it.source() != null && it.source().dtype() != sourceDtype)
                throw new IllegalArgumentException(name + ": " + it.source() + " is " + it.source().dtype() + ", not " + sourceDtype);
            covered = Math.addExact(covered, it.numel());
        }
        // Exactly once: the boxes fit, so they tile the tensor iff they are disjoint and their sizes add up.
        if (covered != Shapes.numel(shape))
            throw new IllegalArgumentException(name + ": copies cover " + covered + " of " + Shapes.numel(shape) + " elements");
        if (items.size() <= 256)
            for (int i = 0; i < items.size(); i++)
                for (int j = i + 1; j < items.size(); j++)
                    if (items.get(i).numel() > 0 && items.get(i).destination().intersect(items.get(j).destination()) != null)
                        throw new IllegalArgumentException(name + ": " + items.get(i) + " and " + items.get(j) + " overlap");
        if (chunk != null && chunk.box().numel() != Shapes.numel(shape))
            throw new IllegalArgumentException(name + ": chunk " + chunk.box() + " does not hold " + Arrays.toString(shape));
    }

    public OutputTensor(String name, DType dtype, long[] shape, List<CopyItem> items) {
        this(name, dtype, shape, dtype, items, null);
    }

    /** The slices concatenated along axis 0, in order, as they are. */
    public static OutputTensor concat(String name, List<TensorSlice> slices) {
        return build(name, slices, false);
    }

    public static OutputTensor of(String name, TensorSlice slice) {
        return build(name, List.of(slice), false);
    }

    /** The 2-d slices concatenated along axis 0, then transposed (HF Conv1D {@code [in, out]}). */
    public static OutputTensor transposed(String name, List<TensorSlice> slices) {
        return build(name, slices, true);
    }

    private static OutputTensor build(String name, List<TensorSlice> slices, boolean transposed) {
        if (slices.isEmpty()) throw new IllegalArgumentException(name + ": no source");
        TensorSlice first = slices.getFirst();
        if (transposed && first.rank() != 2) throw new IllegalArgumentException(name + ": only 2-d tensors can be transposed");
        if (first.rank() == 0) {
            if (slices.size() != 1) throw new IllegalArgumentException(name + ": 0-d slices cannot be concatenated");
            return new OutputTensor(name, first.dtype(), new long[0], List.of(new CopyItem(first, new Box(new long[0], new long[0]), false)));
        }
        List<CopyItem> items = new ArrayList<>();
        long row = 0;
        for (TensorSlice s : slices) {
            if (s.rank() != first.rank() || !Arrays.equals(Arrays.copyOfRange(s.shape(), 1, s.rank()), Arrays.copyOfRange(first.shape(), 1, first.rank())))
                throw new IllegalArgumentException(name + ": " + s + " of shape " + Arrays.toString(s.shape()) + " does not fit rows of " + first);
            long[] o = new long[s.rank()], z = s.shape();
            o[0] = row;
            Box logical = new Box(o, z);
            items.add(new CopyItem(s, transposed ? transpose(logical) : logical, transposed));
            row += s.dim(0);
        }
        long[] shape = first.shape();
        shape[0] = row;
        if (transposed) shape = new long[]{shape[1], shape[0]};
        return new OutputTensor(name, first.dtype(), shape, items);
    }

    private static Box transpose(Box b) {
        return new Box(new long[]{b.offset(1), b.offset(0)}, new long[]{b.size(1), b.size(0)});
    }

    /** The same tensor written as {@code target}. */
    public OutputTensor withDtype(DType target) {
        return new OutputTensor(name, target, shape, sourceDtype, items, chunk);
    }

    public OutputTensor withChunk(Chunk c) {
        return new OutputTensor(name, dtype, shape, sourceDtype, items, c);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long numel() {
        return Shapes.numel(shape);
    }

    public long byteSize() {
        return Shapes.byteSize(shape, dtype);
    }

    /** Whether an item's bytes can go straight from the source into the output (no cast, no transpose, no fill). */
    public boolean isDirectCopy(CopyItem it) {
        return dtype == sourceDtype && !it.transpose() && it.source() != null;
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " from " + items.size() + " copies";
    }
}
