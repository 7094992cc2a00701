package ckpt.convert.reshard;

import ckpt.format.FormatException;

import java.nio.file.Path;

import java.util.ArrayList;
import java.util.List;

/**
 * Where each parameter sits inside one distributed-optimizer gradient bucket (Megatron
 * {@code param_and_grad_buffer.py}; docs/FORMATS.md §4.7). The checkpoint does not record this: it is rebuilt from
 * the parameters' registration order. Parameters are laid out in reverse registration order (the backward pass
 * order), each starting at a multiple of {@value #PARAM_ALIGNMENT} elements; the checkpoint's bucket tensor ends where
 * the last parameter ends (the end padding to lcm(DP, 128) is not saved), so that size is the check that the order
 * and sizes were rebuilt right. Gaps between parameters hold uninitialized bytes and are never read.
 *
 * @param slots     one per parameter, in bucket order
 * @param numel     the bucket's unpadded element count
 */
public record BucketLayout(List<Slot> slots, long numel) {
    /** Megatron aligns every parameter's start in the buffer to 64 elements (for cuBLAS / NCCL friendliness). */
    public static final long PARAM_ALIGNMENT = 64;

    /** One parameter as its DP-sharded optimizer sees it: the TP/PP-local tensor. */
    public record Param(String key, int layer, long localNumel) {
        public Param {
            if (localNumel <= 0) throw new IllegalArgumentException("parameter " + key + " has " + localNumel + " elements");
        }
    }

    /** A parameter's element range {@code [start, start + param.localNumel())} in the bucket. */
    public record Slot(Param param, long start) {
        public long end() {
            return start + param.localNumel();
        }
    }

    public BucketLayout {
        slots = List.copyOf(slots);
    }

    /**
     * Lays out one bucket from its parameters in registration (forward) order and checks the result against the
     * bucket size the checkpoint holds.
     *
     * @param file the checkpoint, named in the error
     * @param what names the bucket in the error message
     * @throws FormatException when the rebuilt layout does not end at {@code savedNumel}: the parameter order,
     *                         sizes or bucketing differ from what this model's layout rules predict, so the buckets
     *                         cannot be mapped back to parameters safely
     */
    public static BucketLayout of(List<Param> registrationOrder, long savedNumel, Path file, String what) {
        List<Slot> slots = new ArrayList<>(registrationOrder.size());
        long at = 0;
        for (int i = registrationOrder.size() - 1; i >= 0; i--) {
            Param p = registrationOrder.get(i);
            long start = Math.ceilDiv(at, PARAM_ALIGNMENT) * PARAM_ALIGNMENT;
            slots.add(new Slot(p, start));
            at = Math.addExact(start, p.localNumel());
        }
        if (at != savedNumel)
            throw new FormatException(file, what + ": the bucket holds " + savedNumel + " elements but its "
                    + registrationOrder.size() + " parameters laid out by Megatron's rules (reverse order, 64-element"
                    + " aligned starts) end at " + at + "; cannot map the bucket back to parameters (a --ddp-bucket-size"
                    + " split, another model layout or another Megatron release)");
        return new BucketLayout(slots, savedNumel);
    }
}
