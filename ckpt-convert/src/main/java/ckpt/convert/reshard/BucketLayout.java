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

    /**
     * Lays out the parameters of one gradient buffer over its buckets ({@code --ddp-bucket-size}, or Megatron's own
     * bucketing with overlapped gradient reduction): walking in bucket order, a bucket ends after the parameter that
     * ends exactly at its saved size — Megatron closes a bucket right after a parameter, and the saved size is the
     * bucket's unpadded size. Every bucket must end exactly on a parameter and every parameter must be used.
     *
     * @param savedNumels the saved size of bucket 0, 1, … in order
     * @throws FormatException when a bucket boundary falls inside a parameter or sizes are left over
     */
    public static List<BucketLayout> across(List<Param> registrationOrder, List<Long> savedNumels, Path file, String what) {
        List<BucketLayout> out = new ArrayList<>(savedNumels.size());
        int next = registrationOrder.size() - 1;
        for (int b = 0; b < savedNumels.size(); b++) {
            long saved = savedNumels.get(b);
            List<Param> inBucket = new ArrayList<>();
            long at = 0;
            while (at < saved && next >= 0) {
                Param p = registrationOrder.get(next--);
                at = Math.addExact(Math.ceilDiv(at, PARAM_ALIGNMENT) * PARAM_ALIGNMENT, p.localNumel());
                inBucket.addFirst(p);
            }
            if (at != saved)
                throw new FormatException(file, what + " bucket " + b + ": holds " + saved + " elements but the parameters"
                        + " laid out by Megatron's rules (reverse registration order, 64-element aligned starts) "
                        + (at > saved ? "cross its end at " + at : "end at " + at)
                        + "; cannot map the buckets back to parameters (another model layout, bucketing or Megatron release)");
            out.add(of(inBucket, saved, file, what + " bucket " + b));
        }
        if (next >= 0)
            throw new FormatException(file, what + ": " + (next + 1) + " parameters (" + registrationOrder.get(next).key()
                    + " …) lie in no saved bucket; cannot map the buckets back to parameters");
        return out;
    }
}
