package ckpt.convert.index;

import ckpt.format.tensor.Box;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How one tensor-parallel rank's local tensor sits inside the global tensor (MAPPING.md §1.4–1.5, FORMATS.md
 * §4.5–4.6). The global tensor may carry leading stacking axes (layer, expert) in front of the module's own axes;
 * the stored tensor is seen through a view with singleton axes prepended, so a piece's source origin has a zero
 * for each of them.
 */
public enum TpSplit {
    /** Same values on every TP rank (norms, row-parallel biases, router): rank 0's copy is the piece. */
    REPLICATED,
    /** Split on the module's dim 0 (vocab-parallel embedding, output layer, QKV, fc1 without GLU). */
    COLUMN,
    /** Split on the module's dim 1 (linear_proj, linear_fc2 weights). */
    ROW,
    /**
     * GLU fc1: rank r stores {@code [gate_r; up_r]}; the global tensor is {@code [gate_0 … gate_{tp-1}; up_0 … up_{tp-1}]},
     * so each rank gives two pieces.
     */
    GLU_COLUMN;

    /**
     * The split of a Megatron model key ({@code decoder.layers.…} names included), or null when ckpt knows none:
     * callers refuse such keys rather than guess.
     */
    public static TpSplit forKey(String key, boolean gatedLinearUnit) {
        return LegacyKeys.split(key, gatedLinearUnit);
    }

    /** The module axis this split cuts (after any stacking axes), or -1 when replicated. */
    public int axis() {
        return switch (this) {
            case REPLICATED -> -1;
            case COLUMN, GLU_COLUMN -> 0;
            case ROW -> 1;
        };
    }

    /** One piece: global box, and where it starts inside the (prefix-expanded) stored tensor. */
    public record Part(Box box, long[] sourceOrigin) {
    }

    /** The global shape and this rank's parts. */
    public record Placement(long[] globalShape, List<Part> parts) {
    }

    /**
     * Where rank {@code tpRank}'s tensor of shape {@code local} goes.
     *
     * @param prefixIndex position along the stacking axes (e.g. {global layer, global expert}); empty when none
     * @param prefixSizes sizes of those axes (e.g. {num_layers, num_experts})
     * @throws IllegalArgumentException when the local shape cannot be split this way (says why)
     */
    public Placement place(long[] prefixIndex, long[] prefixSizes, long[] local, int tpRank, int tpSize) {
        if (prefixIndex.length != prefixSizes.length) throw new IllegalArgumentException("prefix index/size ranks differ");
        for (int i = 0; i < prefixIndex.length; i++)
            if (prefixIndex[i] < 0 || prefixIndex[i] >= prefixSizes[i])
                throw new IllegalArgumentException("index " + prefixIndex[i] + " outside 0.." + (prefixSizes[i] - 1)
                        + " on stacking axis " + i);
        if (tpRank < 0 || tpRank >= tpSize) throw new IllegalArgumentException("tp rank " + tpRank + " of " + tpSize);
        int p = prefixIndex.length;
        int rank = p + local.length;
        long[] global = new long[rank];
        System.arraycopy(prefixSizes, 0, global, 0, p);
        System.arraycopy(local, 0, global, p, local.length);
        long[] offsets = new long[rank];
        System.arraycopy(prefixIndex, 0, offsets, 0, p);
        long[] sizes = new long[rank];
        Arrays.fill(sizes, 0, p, 1);
        System.arraycopy(local, 0, sizes, p, local.length);
        List<Part> parts = new ArrayList<>(2);
        switch (this) {
            case REPLICATED -> parts.add(new Part(new Box(offsets, sizes), new long[rank]));
            case COLUMN, ROW -> {
                int axis = this == COLUMN ? 0 : 1;
                if (local.length <= axis)
                    throw new IllegalArgumentException(name().toLowerCase() + "-parallel tensor of rank " + local.length
                            + " has no dim " + axis + " to split");
                global[p + axis] = Math.multiplyExact(local[axis], tpSize);
                offsets[p + axis] = Math.multiplyExact(local[axis], tpRank);
                parts.add(new Part(new Box(offsets, sizes), new long[rank]));
            }
            case GLU_COLUMN -> {
                if (local.length < 1 || local[0] % 2 != 0)
                    throw new IllegalArgumentException("GLU fc1 shard " + Arrays.toString(local)
                            + " does not have an even number of rows to split into gate and up halves");
                long half = local[0] / 2;
                long f = Math.multiplyExact(half, tpSize);
                global[p] = 2 * f;
                sizes[p] = half;
                long[] gateAt = offsets.clone();
                gateAt[p] = half * tpRank;
                long[] upAt = offsets.clone();
                upAt[p] = f + half * tpRank;
                long[] upOrigin = new long[rank];
                upOrigin[p] = half;
                parts.add(new Part(new Box(gateAt, sizes.clone()), new long[rank]));
                parts.add(new Part(new Box(upAt, sizes.clone()), upOrigin));
            }
        }
        return new Placement(global, parts);
    }
}
