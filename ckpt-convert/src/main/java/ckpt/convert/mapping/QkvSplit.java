package ckpt.convert.mapping;

import ckpt.convert.plan.TensorSlice;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * mcore's fused {@code linear_qkv} (weight {@code [(n+2g)·d, H]} or bias {@code [(n+2g)·d]}) split into q, k and v
 * (MAPPING.md §2.1): {@code g} group blocks of {@code (p+2)·d} rows ordered {@code [q_{jp} … q_{jp+p-1}, k_j, v_j]},
 * {@code p = n/g}. Each group's q, k and v are contiguous row runs, so the result is {@code 3g} row slices; the
 * concatenation of {@code q} is HF's {@code q_proj} (head order group-major, as HF's), of {@code k}/{@code v} its
 * {@code k_proj}/{@code v_proj}.
 */
public record QkvSplit(List<TensorSlice> q, List<TensorSlice> k, List<TensorSlice> v) {
    public static QkvSplit of(TensorSlice qkv, long heads, long groups, long headDim) {
        if (heads <= 0 || groups <= 0 || headDim <= 0 || heads % groups != 0)
            throw new IllegalArgumentException("cannot split QKV with " + heads + " heads in " + groups + " groups of head dim " + headDim);
        long p = heads / groups;
        long rows = (heads + 2 * groups) * headDim;
        if (qkv.rank() < 1 || qkv.dim(0) != rows)
            throw new IllegalArgumentException(qkv.key() + ": linear_qkv of shape " + Arrays.toString(qkv.shape()) + " should have "
                    + rows + " rows = (heads " + heads + " + 2 × groups " + groups + ") × head dim " + headDim);
        List<TensorSlice> q = new ArrayList<>(), k = new ArrayList<>(), v = new ArrayList<>();
        long block = (p + 2) * headDim;
        for (long j = 0; j < groups; j++) {
            long base = j * block;
            q.add(qkv.rows(base, p * headDim));
            k.add(qkv.rows(base + p * headDim, headDim));
            v.add(qkv.rows(base + (p + 1) * headDim, headDim));
        }
        return new QkvSplit(List.copyOf(q), List.copyOf(k), List.copyOf(v));
    }

    /** q, then k, then v: GPT-2's fused {@code c_attn} layout. */
    public List<TensorSlice> concatenated() {
        List<TensorSlice> all = new ArrayList<>(q);
        all.addAll(k);
        all.addAll(v);
        return all;
    }
}
