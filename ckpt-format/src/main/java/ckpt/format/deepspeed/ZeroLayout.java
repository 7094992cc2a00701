package ckpt.format.deepspeed;

import ckpt.format.FormatException;
import ckpt.format.tensor.Shapes;

import java.util.ArrayList;
import java.util.List;

/**
 * Where each parameter's elements lie in the flat partitions of a ZeRO checkpoint — the arithmetic of DeepSpeed's
 * {@code zero_to_fp32.py}, done on metadata only so that every element can later be copied straight from its file.
 *
 * <ul>
 * <li>ZeRO-1/2 ({@link #partitionedGroups}): each parameter group is one flat vector — its parameters in
 *     {@code param_shapes} order, then padding so the length divides by {@code 2 × world size} — cut into one
 *     equal partition per rank. Rank {@code r} saves partition {@code r} of every group; a parameter may straddle
 *     ranks; the padding sits at the end of the last partition(s), and {@code DeepSpeedZeroOptimizer} saves the last
 *     partition without it (the BF16 optimizer saves it padded).</li>
 * <li>ZeRO-3 ({@link #partitionedParams}): every parameter is partitioned on its own into
 *     {@code ceil(numel / world size)} elements per rank (the last rank(s) padded); each rank's flat vector is its
 *     partitions of all parameters in order, saved as one or more sub-group tensors.</li>
 * </ul>
 */
public final class ZeroLayout {
    private ZeroLayout() {
    }

    public record Param(String name, long[] shape) {
        public Param {
            shape = shape.clone();
        }

        public long numel() {
            return Shapes.numel(shape);
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }
    }

    /** Elements {@code [paramStart, paramStart + length)} of a parameter (flattened) are elements {@code [offset, …)} of group tensor {@code group} of {@code rank}. */
    public record Fragment(String param, long paramStart, long length, int rank, int group, long offset) {
    }

    /**
     * @param fragments every parameter's pieces, parameters in order
     * @param padding   elements of each rank's group tensor that hold no parameter: {@code [rank][group]}
     */
    public record Layout(List<Fragment> fragments, long[][] padding) {
    }

    /** Names the file of a rank in an error. */
    public interface Blame {
        FormatException at(int rank, String message);
    }

    /**
     * ZeRO-1/2.
     *
     * @param groups         parameters of each group, in order
     * @param partitionNumel {@code [rank][group]}: elements of the rank's saved partition of that group
     */
    public static Layout partitionedGroups(List<List<Param>> groups, long[][] partitionNumel, Blame blame) {
        int ws = partitionNumel.length;
        long[][] padding = new long[ws][groups.size()];
        List<Fragment> out = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            long[] start = new long[ws + 1];
            for (int r = 0; r < ws; r++) {
                if (partitionNumel[r].length != groups.size())
                    throw blame.at(r, "has " + partitionNumel[r].length + " fp32 partition groups, the model states list "
                            + groups.size() + " parameter groups");
                long p = partitionNumel[r][g];
                // Equal slices, except that DeepSpeedZeroOptimizer.state_dict cuts the group's padding off the last
                // one (the BF16 optimizer keeps it): zero_to_fp32 simply concatenates what was saved.
                boolean last = r == ws - 1;
                if (last ? p > partitionNumel[0][g] : p != partitionNumel[0][g])
                    throw blame.at(r, "partition of group " + g + " holds " + p + " elements, rank 0's holds "
                            + partitionNumel[0][g] + " (ZeRO-1/2 partitions are equal; only the last may be shorter, by its padding)");
                start[r + 1] = Math.addExact(start[r], p);
            }
            long total = start[ws];
            long pos = 0;
            for (Param prm : groups.get(g)) {
                long n = prm.numel();
                long end = Math.addExact(pos, n);
                if (end > total)
                    throw blame.at(ws - 1, "partition too short: group " + g + " parameter " + prm.name() + " needs elements ["
                            + pos + ", " + end + ") of the group's flat vector, the " + ws + " partitions hold " + total);
                for (int r = 0; r < ws && n > 0; r++) {
                    long lo = Math.max(pos, start[r]), hi = Math.min(end, start[r + 1]);
                    if (lo < hi) out.add(new Fragment(prm.name(), lo - pos, hi - lo, r, g, lo - start[r]));
                }
                pos = end;
            }
            // zero_to_fp32's own check: both lengths agree once aligned to 2 × world size.
            long align = 2L * ws;
            if (ceil(pos, align) != ceil(total, align))
                throw blame.at(ws - 1, "group " + g + ": the partitions hold " + total + " elements but the parameters need "
                        + pos + " (+ padding to a multiple of " + align + "): partition sizes and param_shapes disagree");
            for (int r = 0; r < ws; r++)
                padding[r][g] = start[r + 1] - Math.max(start[r], Math.min(pos, start[r + 1]));
        }
        return new Layout(out, padding);
    }

    /**
     * ZeRO-3.
     *
     * @param subGroupNumel {@code [rank][sub-group]}: elements of each saved flat tensor of the rank
     */
    public static Layout partitionedParams(List<Param> params, long[][] subGroupNumel, Blame blame) {
        int ws = subGroupNumel.length;
        long need = 0;
        for (Param p : params) need = Math.addExact(need, ceil(p.numel(), ws) / ws);
        long[][] bounds = new long[ws][];
        for (int r = 0; r < ws; r++) {
            long[] b = new long[subGroupNumel[r].length + 1];
            for (int s = 0; s < subGroupNumel[r].length; s++) b[s + 1] = Math.addExact(b[s], subGroupNumel[r][s]);
            bounds[r] = b;
            if (b[b.length - 1] != need)
                throw blame.at(r, (b[b.length - 1] < need ? "partition too short: " : "") + "the fp32 partition holds "
                        + b[b.length - 1] + " elements, the " + params.size() + " parameters need " + need
                        + " per rank (ceil(numel / " + ws + ") each)");
        }
        long[][] padding = new long[ws][];
        for (int r = 0; r < ws; r++) padding[r] = new long[subGroupNumel[r].length];
        List<Fragment> out = new ArrayList<>();
        long flat = 0;
        for (Param prm : params) {
            long n = prm.numel();
            long part = ceil(n, ws) / ws;
            for (int r = 0; r < ws; r++) {
                long first = Math.min(n, (long) r * part);
                long held = Math.min(n, first + part) - first;
                split(out, prm.name(), first, held, r, bounds[r], flat);
                addPadding(padding[r], bounds[r], flat + held, part - held);
            }
            flat += part;
        }
        return new Layout(out, padding);
    }

    /** A run of a rank's flat vector, cut at sub-group boundaries. */
    private static void split(List<Fragment> out, String param, long paramStart, long length, int rank, long[] bounds, long flat) {
        long done = 0;
        while (done < length) {
            long at = flat + done;
            int s = group(bounds, at);
            long take = Math.min(length - done, bounds[s + 1] - at);
            out.add(new Fragment(param, paramStart + done, take, rank, s, at - bounds[s]));
            done += take;
        }
    }

    private static void addPadding(long[] padding, long[] bounds, long at, long length) {
        long done = 0;
        while (done < length) {
            int s = group(bounds, at + done);
            long take = Math.min(length - done, bounds[s + 1] - (at + done));
            padding[s] += take;
            done += take;
        }
    }

    private static int group(long[] bounds, long at) {
        int lo = 0, hi = bounds.length - 2;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (bounds[mid] <= at) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    static long ceil(long x, long m) {
        return Math.multiplyExact(Math.ceilDiv(x, m), m);
    }
}
