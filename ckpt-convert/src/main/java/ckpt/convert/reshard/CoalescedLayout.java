package ckpt.convert.reshard;

import ckpt.format.FormatException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Where each parameter sits in one buffer of a legacy {@code distrib_optim.pt}: Megatron's
 * {@code DistributedOptimizer.get_parameter_state_dp_zero} writes, per gradient buffer, one fp32 tensor per state
 * holding every bucket of the buffer back to back, each cut to its {@code numel_unpadded} (the end padding that
 * makes a bucket divisible by the DP size is dropped; docs/FORMATS.md §4.8). Buckets are formed as
 * {@code DistributedOptimizer._compute_per_buffer_param_layout} forms them: parameters in reverse registration order,
 * each starting at a multiple of {@value BucketLayout#PARAM_ALIGNMENT} elements from its bucket's start; a bucket
 * closes once it reaches {@code bucketSize} elements, and a shared-embedding parameter always gets a bucket of its
 * own (the bucket before it then ends at the aligned start, so its unpadded size includes that alignment gap).
 *
 * @param buckets      the buckets in buffer order, slots relative to their bucket
 * @param bucketStarts where each bucket starts in the coalesced tensor
 * @param numel        elements of the coalesced tensor (the sum of the buckets' unpadded sizes)
 */
public record CoalescedLayout(List<BucketLayout> buckets, List<Long> bucketStarts, long numel) {
    public CoalescedLayout {
        buckets = List.copyOf(buckets);
        bucketStarts = List.copyOf(bucketStarts);
    }

    /** Every parameter with its start in the coalesced tensor, in buffer order. */
    public List<BucketLayout.Slot> slots() {
        List<BucketLayout.Slot> out = new ArrayList<>();
        for (int b = 0; b < buckets.size(); b++)
            for (BucketLayout.Slot s : buckets.get(b).slots())
                out.add(new BucketLayout.Slot(s.param(), bucketStarts.get(b) + s.start()));
        return out;
    }

    /**
     * Lays out one buffer and checks it against the size the file holds.
     *
     * @param registrationOrder the buffer's parameters in registration (forward) order
     * @param bucketSize        Megatron's resolved bucket size in elements, or null for one bucket
     * @param ownBucket         parameters that get a bucket of their own (Megatron's {@code shared_embedding})
     * @param savedNumel        the coalesced tensor's element count ({@code numel_unpadded})
     * @param file              the file, named in the error
     * @param what              names the buffer in the error
     * @throws FormatException when the rebuilt buckets do not add up to {@code savedNumel}
     */
    public static CoalescedLayout of(List<BucketLayout.Param> registrationOrder, Long bucketSize,
                                     Predicate<BucketLayout.Param> ownBucket, long savedNumel, Path file, String what) {
        if (bucketSize != null && bucketSize <= 0) throw new IllegalArgumentException("bucket size " + bucketSize);
        List<BucketLayout> buckets = new ArrayList<>();
        List<Long> starts = new ArrayList<>();
        List<BucketLayout.Slot> current = new ArrayList<>();
        long total = 0;
        long next = 0; // where the next parameter may start, relative to the current bucket's start
        for (int i = registrationOrder.size() - 1; i >= 0; i--) {
            BucketLayout.Param p = registrationOrder.get(i);
            long start = align(next);
            boolean own = ownBucket.test(p);
            if (own && !current.isEmpty()) {
                total = close(buckets, starts, current, start, total);
                current = new ArrayList<>();
                start = 0;
            }
            current.add(new BucketLayout.Slot(p, start));
            long end = Math.addExact(start, p.localNumel());
            if (own || bucketSize != null && end >= bucketSize) {
                total = close(buckets, starts, current, end, total);
                current = new ArrayList<>();
                next = 0;
            } else {
                next = end;
            }
        }
        if (!current.isEmpty()) total = close(buckets, starts, current, current.getLast().end(), total);
        if (total != savedNumel)
            throw new FormatException(file, what + ": holds " + savedNumel + " elements but its "
                    + registrationOrder.size() + " parameters laid out by Megatron's rules (reverse order, 64-element"
                    + " aligned starts, " + (bucketSize == null ? "one bucket" : "buckets of " + bucketSize + " elements")
                    + ") need " + total + "; cannot map the optimizer state back to parameters (another model layout,"
                    + " bucket size or Megatron release)");
        return new CoalescedLayout(buckets, starts, total);
    }

    private static long align(long at) {
        return Math.ceilDiv(at, BucketLayout.PARAM_ALIGNMENT) * BucketLayout.PARAM_ALIGNMENT;
    }

    private static long close(List<BucketLayout> buckets, List<Long> starts, List<BucketLayout.Slot> slots, long unpadded,
                              long total) {
        buckets.add(new BucketLayout(slots, unpadded));
        starts.add(total);
        return Math.addExact(total, unpadded);
    }
}
