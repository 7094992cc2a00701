package ckpt.convert.diff;

import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.CopyItem;
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
        for (CopyItem it : tensor.items()) if (!it.isZeroFill()) names.add(sourceName(it.source()));
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
        for (CopyItem it : tensor.items()) {
            if (it.isZeroFill() || !contains(it.destination(), index)) continue;
            TensorSlice s = it.source();
            long[] rel = new long[index.length];
            for (int i = 0; i < index.length; i++) rel[i] = index[i] - it.destination().offset(i);
            if (it.transpose()) rel = new long[]{rel[1], rel[0]};
            long[] global = s.box().offsets();
            for (int i = 0; i < rel.length; i++) global[s.squeezed() + i] += rel[i];
            return s.key() + Arrays.toString(global);
        }
        return tensor.name() + Arrays.toString(index);
    }

    private static boolean contains(ckpt.format.tensor.Box b, long[] index) {
        for (int i = 0; i < index.length; i++) if (index[i] < b.offset(i) || index[i] >= b.end(i)) return false;
        return true;
    }
}
