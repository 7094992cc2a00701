package ckpt.convert.reshard;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.convert.exec.ElementCast;
import ckpt.convert.index.FlatViewSource;
import ckpt.convert.index.GlobalTensor;
import ckpt.convert.index.TensorPiece;
import ckpt.convert.index.TpSplit;
import ckpt.format.FormatException;
import ckpt.format.megatron.MegatronKeys;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;
import ckpt.format.tensor.Shapes;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Megatron's {@code dp_reshardable} distributed-optimizer state — one flat fp32 tensor per model-parallel rank,
 * gradient buffer, bucket and state ({@code param}, {@code exp_avg}, {@code exp_avg_sq}), each the concatenation of
 * that rank's TP-local parameters in bucket order — seen as the per-parameter global tensors
 * {@code optimizer.state.<state>.<model key>} that Megatron's {@code fully_reshardable} format saves (same global
 * shape and TP layout as the model key, layers stacked). Index views only: every piece is a flat range of a bucket
 * (FORMATS.md §4.7), nothing is read but a few elements per parameter that prove the layout: a parameter's fp32 main
 * value must round to the saved model weight, which Megatron copies from it after every step.
 */
public final class DpReshardable {
    private static final Pattern BUCKET = Pattern.compile(
            "optimizer\\.distributed\\.dp_group_idx_(\\d{1,9})\\.gbuf_idx_(\\d{1,9})\\.dtype_(.+)\\.bucket_idx_(\\d{1,9})\\.([A-Za-z0-9_]+)");
    /** Elements of every parameter compared with the model weight: first, middle, last. */
    private static final int SAMPLES = 3;

    private DpReshardable() {
    }

    /** Whether the index holds dp_reshardable bucket tensors. */
    public static boolean present(List<GlobalTensor> tensors) {
        return tensors.stream().anyMatch(t -> t.key().contains("optimizer.distributed.dp_group_idx_"));
    }

    /**
     * The per-parameter optimizer tensors, ordered by state then model key order.
     *
     * @param file    the checkpoint, named in errors
     * @param model   the model tensors by key (global shapes)
     * @param tensors every tensor of the checkpoint (the buckets among them)
     * @param tp      the saving job's tensor-parallel size
     * @param pp      its pipeline-parallel size
     */
    public static List<GlobalTensor> perParameter(Path file, Map<String, GlobalTensor> model, List<GlobalTensor> tensors,
                                                  long layers, boolean glu, boolean tied, String transformerImpl, int tp, int pp) {
        Map<Integer, TreeMap<Integer, Map<String, GlobalTensor>>> groups = buckets(file, tensors);
        if (!groups.keySet().equals(range(tp * pp)))
            throw new FormatException(file, "optimizer buckets exist for model-parallel ranks " + groups.keySet()
                    + " but the saved layout TP " + tp + " × PP " + pp + " has ranks 0.." + (tp * pp - 1));
        Set<String> states = null;
        for (var g : groups.values())
            for (var b : g.values()) {
                if (states == null) states = new TreeSet<>(b.keySet());
                else if (!states.equals(b.keySet()))
                    throw new FormatException(file, "optimizer buckets hold different states (" + states + " vs " + b.keySet() + ")");
            }
        if (states == null || !states.contains("param"))
            throw new FormatException(file, "the optimizer buckets hold no 'param' (fp32 main parameter) state");
        // state → model key → pieces
        Map<String, Map<String, List<TensorPiece>>> pieces = new LinkedHashMap<>();
        for (String s : states) pieces.put(s, new LinkedHashMap<>());
        try (Arena arena = Arena.ofConfined()) {
            for (var g : groups.entrySet()) {
                int m = g.getKey(), t = m % tp, stage = m / tp;
                String where = "model-parallel rank " + m + " (TP " + t + ", PP " + stage + ")";
                List<RegistrationOrder.Entry> order = RegistrationOrder.of(file, model, layers, glu, tied, transformerImpl, tp, pp, stage);
                Map<String, RegistrationOrder.Entry> byParam = new LinkedHashMap<>();
                List<BucketLayout.Param> params = new ArrayList<>();
                for (RegistrationOrder.Entry e : order) {
                    byParam.put(id(e.param()), e);
                    params.add(e.param());
                }
                List<Long> numels = new ArrayList<>();
                for (var b : g.getValue().values()) numels.add(b.get("param").numel());
                List<BucketLayout> layouts = BucketLayout.across(params, numels, file, where);
                int bi = 0;
                for (var b : g.getValue().values()) {
                    BucketLayout layout = layouts.get(bi++);
                    for (BucketLayout.Slot slot : layout.slots()) {
                        RegistrationOrder.Entry e = byParam.get(id(slot.param()));
                        if (e.split() == TpSplit.REPLICATED && t != 0) continue; // TP rank 0's copy is the saved one, as in Megatron
                        TpSplit.Placement pl = placement(e, layers, t, tp);
                        checkAgainstModel(file, arena, model.get(e.param().key()), b.get("param"), slot, pl, where);
                        for (String s : states)
                            pieces.get(s).computeIfAbsent(e.param().key(), k -> new ArrayList<>())
                                    .addAll(slotPieces(b.get(s), slot, pl));
                    }
                }
            }
        }
        List<GlobalTensor> out = new ArrayList<>();
        for (String s : states)
            for (String key : model.keySet()) {
                List<TensorPiece> ps = pieces.get(s).get(key);
                if (ps == null) continue; // not a parameter (tied output layer)
                GlobalTensor m = model.get(key);
                long covered = ps.stream().mapToLong(p -> p.box().numel()).sum();
                if (covered != m.numel())
                    throw new FormatException(file, "the optimizer buckets cover " + covered + " of the " + m.numel()
                            + " elements of " + key + "; cannot rebuild its optimizer state");
                String k = "optimizer.state." + s + "." + key;
                out.add(new GlobalTensor(k, DType.FLOAT32, m.shape(), MegatronKeys.classify(k, true), ps));
            }
        for (String key : model.keySet())
            if (!pieces.get("param").containsKey(key) && !(tied && key.equals("output_layer.weight")))
                throw new FormatException(file, "model key " + key + " lies in no optimizer bucket");
        return out;
    }

    private static String id(BucketLayout.Param p) {
        return p.key() + "@" + p.layer();
    }

    private static Set<Integer> range(int n) {
        Set<Integer> s = new TreeSet<>();
        for (int i = 0; i < n; i++) s.add(i);
        return s;
    }

    /** Bucket tensors by model-parallel rank, bucket index and state; refuses layouts ckpt cannot map. */
    private static Map<Integer, TreeMap<Integer, Map<String, GlobalTensor>>> buckets(Path file, List<GlobalTensor> tensors) {
        Map<Integer, TreeMap<Integer, Map<String, GlobalTensor>>> out = new TreeMap<>();
        String dtype = null;
        for (GlobalTensor t : tensors) {
            if (!t.key().contains("optimizer.distributed.")) continue;
            Matcher m = BUCKET.matcher(t.key());
            if (!m.matches())
                throw new FormatException(file, "optimizer tensor " + t.key() + " is not a plain distributed-optimizer bucket"
                        + " (chained optimizers are not supported)");
            if (!m.group(2).equals("0"))
                throw new FormatException(file, t.key() + ": a second gradient buffer (expert-parallel or mixed-dtype"
                        + " parameters) is not supported");
            if (dtype == null) dtype = m.group(3);
            else if (!dtype.equals(m.group(3)))
                throw new FormatException(file, "optimizer buckets of two dtypes (" + dtype + ", " + m.group(3) + ") are not supported");
            if (t.rank() != 1 || t.dtype() != DType.FLOAT32)
                throw new FormatException(file, t.key() + " is " + t.dtype() + Arrays.toString(t.shape())
                        + ", not a flat float32 bucket");
            Map<String, GlobalTensor> states = out.computeIfAbsent(Integer.parseInt(m.group(1)), k -> new TreeMap<>())
                    .computeIfAbsent(Integer.parseInt(m.group(4)), k -> new TreeMap<>());
            states.put(m.group(5), t);
        }
        for (var g : out.entrySet()) {
            int expect = 0;
            for (var b : g.getValue().entrySet()) {
                if (b.getKey() != expect++)
                    throw new FormatException(file, "model-parallel rank " + g.getKey() + " lacks optimizer bucket " + (expect - 1));
                long n = -1;
                for (GlobalTensor t : b.getValue().values()) {
                    if (n >= 0 && t.numel() != n)
                        throw new FormatException(file, t.key() + " has " + t.numel() + " elements, the other states of its bucket " + n);
                    n = t.numel();
                }
            }
        }
        return out;
    }

    /** Where TP rank {@code t}'s local tensor of this parameter sits in the global tensor. */
    private static TpSplit.Placement placement(RegistrationOrder.Entry e, long layers, int t, int tp) {
        long[] local = e.moduleShape().clone();
        if (e.split() != TpSplit.REPLICATED) local[e.split().axis()] /= tp;
        int layer = e.param().layer();
        long[] prefix = layer >= 0 ? new long[]{layer} : new long[0];
        long[] sizes = layer >= 0 ? new long[]{layers} : new long[0];
        return e.split().place(prefix, sizes, local, e.split() == TpSplit.REPLICATED ? 0 : t, e.split() == TpSplit.REPLICATED ? 1 : tp);
    }

    /** The local tensor's shape with the stacking axes as singletons, as the placement's source origins see it. */
    private static long[] expandedLocal(TpSplit.Placement pl) {
        long[] shape = new long[pl.globalShape().length];
        for (TpSplit.Part p : pl.parts()) {
            for (int i = 0; i < shape.length; i++)
                shape[i] = Math.max(shape[i], p.sourceOrigin()[i] + p.box().size(i));
        }
        return shape;
    }

    /** The global pieces of one parameter slot of one bucket state. */
    private static List<TensorPiece> slotPieces(GlobalTensor bucket, BucketLayout.Slot slot, TpSplit.Placement pl) {
        long[] local = expandedLocal(pl);
        long[] strides = Shapes.contiguousStrides(local);
        List<TensorPiece> out = new ArrayList<>();
        for (TensorPiece bp : bucket.pieces()) {
            long p0 = bp.box().offset(0), p1 = p0 + bp.box().size(0);
            long a = Math.max(slot.start(), p0), e = Math.min(slot.end(), p1);
            if (a >= e) continue;
            long flatAt = a - p0 + bp.sourceOrigin()[0];
            for (TensorPiece lp : FlatViewSource.pieces(local, a - slot.start(), e - slot.start(), bp.source(), flatAt)) {
                FlatViewSource src = (FlatViewSource) lp.source();
                for (TpSplit.Part part : pl.parts()) {
                    Box region = new Box(part.sourceOrigin(), part.box().sizes());
                    Box meet = lp.box().intersect(region);
                    if (meet == null || meet.numel() == 0) continue;
                    long skip = 0;
                    long[] g = new long[meet.rank()];
                    for (int i = 0; i < meet.rank(); i++) {
                        skip += (meet.offset(i) - lp.box().offset(i)) * strides[i];
                        g[i] = part.box().offset(i) + meet.offset(i) - part.sourceOrigin()[i];
                    }
                    out.add(new TensorPiece(new Box(g, meet.sizes()), new FlatViewSource(bp.source(), src.at() + skip, meet.sizes(), strides)));
                }
            }
        }
        return out;
    }

    /**
     * A parameter's fp32 main value, cast to the model's dtype, equals the model weight (Megatron copies main params
     * into the model after each step): a few elements per slot prove that order, alignment, TP split and pipeline
     * stage were rebuilt right before anything is written.
     */
    private static void checkAgainstModel(Path file, Arena arena, GlobalTensor weight, GlobalTensor bucket, BucketLayout.Slot slot,
                                          TpSplit.Placement pl, String where) {
        long n = slot.param().localNumel();
        long[] local = expandedLocal(pl);
        long[] strides = Shapes.contiguousStrides(local);
        MemorySegment main = arena.allocate(4), cast = arena.allocate(8), saved = arena.allocate(8);
        long[] at = {0, n / 2, n - 1};
        for (int k = 0; k < SAMPLES; k++) {
            long i = at[k];
            long[] idx = new long[local.length];
            long rest = i;
            for (int d = 0; d < local.length; d++) {
                idx[d] = rest / strides[d];
                rest %= strides[d];
            }
            long[] g = null;
            for (TpSplit.Part part : pl.parts()) {
                Box region = new Box(part.sourceOrigin(), part.box().sizes());
                boolean inside = true;
                for (int d = 0; d < idx.length && inside; d++)
                    inside = idx[d] >= region.offset(d) && idx[d] < region.end(d);
                if (!inside) continue;
                g = new long[idx.length];
                for (int d = 0; d < idx.length; d++) g[d] = part.box().offset(d) + idx[d] - part.sourceOrigin()[d];
            }
            if (g == null) throw new IllegalStateException("element " + i + " of " + slot + " in no part");
            TensorAssembler.assemble(bucket, new Box(new long[]{slot.start() + i}, new long[]{1}), main);
            long[] ones = new long[g.length];
            Arrays.fill(ones, 1);
            TensorAssembler.assemble(weight, new Box(g, ones), saved.asSlice(0, weight.dtype().byteSize()));
            if (!weight.dtype().isFloatingPoint())
                throw new FormatException(file, weight.key() + " is " + weight.dtype() + ", not a floating-point weight");
            ElementCast.convert(main, DType.FLOAT32, cast, weight.dtype(), 1);
            long es = weight.dtype().byteSize();
            if (MemorySegment.mismatch(cast, 0, es, saved, 0, es) != -1)
                throw new FormatException(file, where + ": " + weight.key() + (slot.param().layer() >= 0 ? " layer " + slot.param().layer() : "")
                        + ": the fp32 main parameter at bucket element " + (slot.start() + i) + " (" + main.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0)
                        + ") does not round to the saved weight " + Arrays.toString(g) + "; the buckets do not follow the layout ckpt"
                        + " rebuilds (another module order, bucketing or Megatron release), refusing to map them");
        }
    }
}
