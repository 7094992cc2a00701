package ckpt.convert.diff;

import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.TensorSlice;

import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * One tensor of a checkpoint seen under a shared naming: {@code name} is what both sides are matched by (e.g. the
 * HF name), {@code tensor} says which slices of which stored global tensors make it up, in the naming's layout.
 */
public record ViewTensor(String name, OutputTensor tensor) {
    public long[] shape() {
        return tensor.shape();
    }

    /**
     * The tensor under its input's own name: the stored key, with the layer/expert index where it is a slice of a
     * stacked tensor (e.g. {@code decoder.layers.self_attention.linear_qkv.weight[1]}); several keys joined by
     * {@code +}.
     */
    public String ownName() {
        Set<String> names = new LinkedHashSet<>();
        for (ViewPieces.Piece p : ViewPieces.pieces(tensor)) names.add(sourceName(p.slice()));
        return String.join(" + ", names);
    }

    private static String sourceName(TensorSlice s) {
        if (s.squeezed() == 0) return s.key();
        long[] idx = Arrays.copyOf(s.box().offsets(), s.squeezed());
        StringBuilder b = new StringBuilder(s.key()).append('[');
        for (int i = 0; i < idx.length; i++) b.append(i == 0 ? "" : ", ").append(idx[i]);
        return b.append(']').toString();
    }

    /**
     * Where element {@code index} (coordinates in this view's shape) is stored: the key and the coordinates in that
     * stored global tensor, e.g. {@code decoder.layers.mlp.linear_fc1.weight[1, 37, 5]}.
     */
    public String locate(long[] index) {
        long[] logical = ViewPieces.transposed(tensor) ? new long[]{index[1], index[0]} : index.clone();
        long row = logical.length == 0 ? 0 : logical[0];
        for (ViewPieces.Piece p : ViewPieces.pieces(tensor)) {
            if (row < p.dstRow() || row >= p.dstRow() + p.rows()) continue;
            TensorSlice s = p.slice();
            long[] global = s.box().offsets();
            for (int i = 0; i < logical.length; i++) global[s.squeezed() + i] += i == 0 ? row - p.dstRow() : logical[i];
            return s.key() + Arrays.toString(global);
        }
        return tensor.name() + Arrays.toString(index);
    }
}
