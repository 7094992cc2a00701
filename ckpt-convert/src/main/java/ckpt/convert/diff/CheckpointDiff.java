package ckpt.convert.diff;

import ckpt.convert.analysis.VerifyProgress;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
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
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code ckpt diff}: two checkpoints of any formats ckpt reads, compared tensor by tensor. Both sides are brought to
 * one naming — the pair of namings ({@link MappingAdapter}) under which the most names match, so a Megatron
 * checkpoint meets its Hugging Face export under HF names and two Megatron saves meet under their own keys — then
 * each matched pair is streamed block by block from the stored pieces ({@link RowReader}) and compared
 * ({@link ElementStats}). Tensors are compared in parallel by a bounded pool; each worker holds two blocks, so
 * memory is bounded by {@code threads × 2 × blockBytes} plus the mapped records in flight ({@link ReleaseGate}).
 */
public final class CheckpointDiff {
    /** Bytes read between two unmappings of source records. */
    private static final long RELEASE_EVERY = 512L << 20;

    private final DiffOptions options;
    private final long releaseEvery;

    public CheckpointDiff(DiffOptions options) {
        this(options, RELEASE_EVERY);
    }

    /** With {@code releaseEvery} bytes read between unmappings (tests use tiny values to stress the gate). */
    CheckpointDiff(DiffOptions options, long releaseEvery) {
        this.options = options;
        this.releaseEvery = releaseEvery;
    }

    public DiffReport compare(Path a, Path b, VerifyProgress progress) {
        try (CheckpointIndex ia = Checkpoints.open(a); CheckpointIndex ib = Checkpoints.open(b)) {
            return compare(ia, ib, progress);
        }
    }

    /**
     * A pair of namings, scored by the share of names that match: {@code matched / max(|A|, |B|)}, then the share of
     * those with equal shapes.
     */
    record Pairing(NamingView a, NamingView b, int matched, int sameShape, int size) {
        boolean betterThan(Pairing o) {
            // matched/size > o.matched/o.size, without rounding
            long l = (long) matched * Math.max(1, o.size), r = (long) o.matched * Math.max(1, size);
            if (l != r) return l > r;
            return (long) sameShape * Math.max(1, o.size) > (long) o.sameShape * Math.max(1, size);
        }
    }

    /**
     * The namings under which the largest share of names (then of shapes) match; own keys win ties, so two Megatron
     * saves compare stacked tensors under their own keys and a Megatron save meets its HF export under HF names.
     */
    static Pairing pair(List<NamingView> as, List<NamingView> bs) {
        Pairing best = null;
        for (NamingView va : as) {
            for (NamingView vb : bs) {
                Map<String, ViewTensor> mb = vb.byName();
                int matched = 0, sameShape = 0;
                for (ViewTensor t : va.tensors()) {
                    ViewTensor o = mb.get(t.name());
                    if (o == null) continue;
                    matched++;
                    if (Arrays.equals(o.shape(), t.shape())) sameShape++;
                }
                Pairing p = new Pairing(va, vb, matched, sameShape, Math.max(va.tensors().size(), vb.tensors().size()));
                if (best == null || p.betterThan(best)) best = p;
            }
        }
        return best;
    }

    public DiffReport compare(CheckpointIndex a, CheckpointIndex b, VerifyProgress progress) {
        Pairing p = pair(MappingAdapter.views(a), MappingAdapter.views(b));
        List<ViewTensor[]> pairs = new ArrayList<>();
        match(p.a().tensors(), p.b().tensors(), pairs);
        List<ViewTensor> optA = MappingAdapter.optimizerState(a), optB = MappingAdapter.optimizerState(b);
        if (options.optimizer()) match(optA, optB, pairs);
        pairs.removeIf(pair -> !selected(pair));

        long total = 0;
        for (ViewTensor[] pair : pairs)
            if (pair[0] != null && pair[1] != null) total += pair[0].tensor().numel() * (pair[0].tensor().sourceDtype().byteSize() + pair[1].tensor().sourceDtype().byteSize());
        progress.start(total);
        ReleaseGate gate = new ReleaseGate(List.of(a, b), releaseEvery);
        List<TensorDiff> results = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(options.threads(), r -> {
            Thread t = new Thread(r, "ckpt-diff");
            t.setDaemon(true);
            return t;
        });
        AtomicBoolean cancelled = new AtomicBoolean();
        try {
            List<Future<TensorDiff>> futures = new ArrayList<>();
            for (ViewTensor[] pair : pairs) futures.add(pool.submit(() -> compare(pair[0], pair[1], gate, progress, cancelled)));
            for (Future<TensorDiff> f : futures) results.add(get(f));
        } catch (RuntimeException | Error e) {
            cancelled.set(true); // the other workers stop at their next block
            throw e;
        } finally {
            pool.shutdown();
            awaitWorkers(pool); // no worker may still read when the caller closes the indexes
            progress.done();
        }
        int skipped = options.optimizer() ? 0 : optA.size() + optB.size();
        return new DiffReport(side(a), side(b), p.a().naming(), p.b().naming(), options.atol(), options.rtol(),
                options.optimizer(), skipped, results);
    }

    private static DiffReport.Side side(CheckpointIndex i) {
        return new DiffReport.Side(i.path().toString(), i.format().jsonName(), i.iteration());
    }

    private boolean selected(ViewTensor[] pair) {
        for (ViewTensor t : pair)
            if (t != null && (options.filter().test(t.name()) || options.filter().test(t.ownName()))) return true;
        return false;
    }

    /** A's names in A's order (paired with B's when B has them), then names only B has. */
    private static void match(List<ViewTensor> as, List<ViewTensor> bs, List<ViewTensor[]> out) {
        Map<String, ViewTensor> mb = new LinkedHashMap<>();
        for (ViewTensor t : bs) mb.put(t.name(), t);
        for (ViewTensor t : as) out.add(new ViewTensor[]{t, mb.remove(t.name())});
        for (ViewTensor t : mb.values()) out.add(new ViewTensor[]{null, t});
    }

    private static void awaitWorkers(ExecutorService pool) {
        try {
            if (!pool.awaitTermination(5, TimeUnit.MINUTES)) pool.shutdownNow();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static TensorDiff get(Future<TensorDiff> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        }
    }

    private TensorDiff compare(ViewTensor a, ViewTensor b, ReleaseGate gate, VerifyProgress progress, AtomicBoolean cancelled) {
        if (b == null) return TensorDiff.onlyA(a);
        if (a == null) return TensorDiff.onlyB(b);
        if (!Arrays.equals(a.shape(), b.shape())) return TensorDiff.shapeChanged(a, b);
        DType da = a.tensor().sourceDtype(), db = b.tensor().sourceDtype();
        boolean comparable = da == db || ElementValues.numeric(da) && ElementValues.numeric(db);
        long numel = a.tensor().numel();
        long[] shape = a.shape();
        if (!comparable)
            return new TensorDiff(a.name(), a.ownName(), b.ownName(), TensorDiff.Status.DIFFERENT, da, db, shape, shape,
                    numel, numel, null, null, null, null, null, null, null, null, null);
        ElementStats stats = new ElementStats(da, db, options.atol(), options.rtol());
        long rowElems = RowReader.rowElements(shape), rows = RowReader.rows(shape);
        int maxEs = Math.max(da.byteSize(), db.byteSize());
        long rowsPerBlock = Math.max(1, options.blockBytes() / Math.max(1, rowElems * maxEs));
        long blockElems = Math.min(numel, rowsPerBlock * rowElems);
        if (numel > 0) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment bufA = arena.allocate(blockElems * da.byteSize(), 64);
                MemorySegment bufB = arena.allocate(blockElems * db.byteSize(), 64);
                MemorySegment scratch = RowReader.needsScratch(a.tensor()) || RowReader.needsScratch(b.tensor())
                        ? arena.allocate(blockElems * maxEs, 64) : null;
                for (long r = 0; r < rows; r += rowsPerBlock) {
                    if (cancelled.get()) throw new CancellationException("another tensor failed");
                    long n = Math.min(rowsPerBlock, rows - r), elems = n * rowElems, r0 = r;
                    MemorySegment sa = bufA.asSlice(0, elems * da.byteSize()), sb = bufB.asSlice(0, elems * db.byteSize());
                    gate.read(elems * (da.byteSize() + db.byteSize()), () -> {
                        RowReader.read(options.kernels(), a.tensor(), r0, n, sa, scratch, () -> { });
                        RowReader.read(options.kernels(), b.tensor(), r0, n, sb, scratch, () -> { });
                    });
                    stats.add(sa, da, sb, db, elems, r0 * rowElems);
                    progress.advance(elems * (da.byteSize() + db.byteSize()));
                }
            }
        }
        TensorDiff.Status status = stats.differing > 0 ? TensorDiff.Status.DIFFERENT
                : da != db ? TensorDiff.Status.DTYPE_CHANGED : TensorDiff.Status.SAME;
        String firstA = null, firstB = null;
        if (stats.first >= 0) {
            long[] idx = unravel(stats.first, shape);
            firstA = a.locate(idx);
            firstB = b.locate(idx);
        }
        return new TensorDiff(a.name(), a.ownName(), b.ownName(), status, da, db, shape, shape, numel, stats.differing,
                stats.maxAbs(), stats.maxRel(), stats.meanAbs(), stats.cosine(), stats.normA(), stats.normB(),
                stats.relativeL2(), firstA, firstB);
    }

    static long[] unravel(long flat, long[] shape) {
        long[] idx = new long[shape.length];
        long[] strides = Shapes.contiguousStrides(shape);
        for (int i = 0; i < shape.length; i++) {
            idx[i] = strides[i] == 0 ? 0 : flat / strides[i];
            flat -= idx[i] * strides[i];
        }
        return idx;
    }
}
