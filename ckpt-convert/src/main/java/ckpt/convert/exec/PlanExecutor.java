package ckpt.convert.exec;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.convert.index.GlobalTensor;
import ckpt.convert.index.TensorPiece;
import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.CopyItem;
import ckpt.convert.plan.OutputPiece;
import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.TensorSlice;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.Shapes;
import ckpt.format.zip.Crc32;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs a {@link ConversionPlan} with a pool of workers. Every output tensor is cut into {@link OutputPiece}s —
 * contiguous byte ranges of at most {@code pieceBytes} of output and of source — so work is parallel across tensors
 * and across the rows of a large tensor. A worker executes its piece's clipped {@link CopyItem}s into its own piece
 * buffer, checksums it when the format records CRCs (parts combine with {@link Crc32#combine}), hands it to the
 * {@link OutputWriter.Positioned} writer's positioned write, and releases the source windows it read. Positioned
 * writes rather than stores into a mapped output: a new file's mapped pages are zeroed by the filesystem on their
 * first store, which cost half the CPU time of a conversion (docs/BENCHMARKS.md, issue 18).
 * <p>Pieces are queued in source order (file, then offset) so that the workers together read each file front to back.
 * An item whose bytes go as they are into a contiguous run is gathered straight into the piece buffer; casts,
 * transposes and non-contiguous boxes go through the worker's second buffer of at most {@code pieceBytes}. So memory
 * is bounded by {@code threads × 3 × pieceBytes} (piece buffer, source pages, cast buffer: {@link #memoryBound()}),
 * never by the model or tensor size. Output bytes depend neither on the thread count nor on the order pieces finish
 * in. The
 * listener is called on the calling thread only.
 */
public final class PlanExecutor {
    public static final long DEFAULT_PIECE = 32L << 20;

    private final long pieceBytes;
    private final int threads;
    private final TensorKernels kernels;

    /** Pieces of {@link #DEFAULT_PIECE}, one worker per available processor. */
    public PlanExecutor() {
        this(DEFAULT_PIECE);
    }

    public PlanExecutor(long pieceBytes) {
        this(pieceBytes, defaultThreads(), TensorKernels.CPU);
    }

    public PlanExecutor(long pieceBytes, int threads, TensorKernels kernels) {
        if (pieceBytes <= 0) throw new IllegalArgumentException("piece size must be positive");
        if (threads < 1) throw new IllegalArgumentException("--threads must be at least 1");
        this.pieceBytes = pieceBytes;
        this.threads = threads;
        this.kernels = kernels;
    }

    public static int defaultThreads() {
        return Runtime.getRuntime().availableProcessors();
    }

    public PlanExecutor withThreads(int n) {
        return new PlanExecutor(pieceBytes, n, kernels);
    }

    /** The same executor with the element work done by {@code kernels} (an engine's, see {@link TensorKernels}). */
    public PlanExecutor withKernels(TensorKernels kernels) {
        return new PlanExecutor(pieceBytes, threads, kernels);
    }

    public int threads() {
        return threads;
    }

    public TensorKernels kernels() {
        return kernels;
    }

    /** Peak bytes the workers may hold at once beyond the JVM and the index: piece buffer, source pages, cast buffer. */
    public long memoryBound() {
        return (long) threads * 3 * pieceBytes;
    }

    public void execute(ConversionPlan plan, OutputWriter writer, ConversionListener listener) throws IOException {
        execute(plan, writer, listener, () -> { });
    }

    /**
     * @param release runs on a worker after each source piece it copies and after each output piece, e.g. to unmap
     *                the source records that worker read ({@code CheckpointIndex::releaseMappings}), so that the
     *                resident set stays bounded by the pieces in flight
     */
    public void execute(ConversionPlan plan, OutputWriter writer, ConversionListener listener, Runnable release)
            throws IOException {
        AtomicInteger id = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads, r ->
                Thread.ofPlatform().name("ckpt-convert-" + id.getAndIncrement()).daemon().unstarted(r));
        Run run = new Run(pool, release);
        try {
            switch (writer) {
                case OutputWriter.Positioned w -> positioned(plan, w, listener, run);
            }
        } finally {
            run.failed.compareAndSet(null, STOPPED); // queued pieces are skipped, running ones finish
            pool.shutdown();
            awaitQuietly(pool);
        }
    }

    private static final Throwable STOPPED = new Throwable("stopped");

    /** Shared state of one execution: the pool, the first failure, what workers report to the calling thread. */
    private final class Run {
        final ExecutorService pool;
        final Runnable release;
        final AtomicReference<Throwable> failed = new AtomicReference<>();
        final BlockingQueue<Done> done = new LinkedBlockingQueue<>();
        final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

        Run(ExecutorService pool, Runnable release) {
            this.pool = pool;
            this.release = release;
        }

        /** Runs {@code work} for {@code p} on a worker; reports it done (or the failure) to the calling thread. */
        void submit(OutputPiece p, PieceWork work) {
            pool.execute(() -> {
                if (failed.get() != null) return;
                try {
                    done.add(new Done(p, work.run(p), null));
                } catch (Throwable e) {
                    failed.compareAndSet(null, e);
                    done.add(new Done(p, false, e));
                } finally {
                    release.run();
                }
            });
        }

        /** The next report; rethrows a worker's failure on the calling thread. */
        Done next() throws IOException {
            Done d;
            try {
                d = done.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("conversion interrupted", e);
            }
            if (d.failure() != null) rethrow(d.failure());
            return d;
        }
    }

    @FunctionalInterface
    private interface PieceWork {
        /** Writes the piece; returns whether it was the last of its tensor. */
        boolean run(OutputPiece p) throws IOException;
    }

    private record Done(OutputPiece piece, boolean tensorDone, Throwable failure) {
    }

    /** Per tensor: parts still to write and each part's CRC, combined in byte order by whoever writes the last. */
    private static final class TensorState {
        final AtomicInteger remaining;
        final long[] crcs;
        final long[] lengths;

        TensorState(int parts) {
            remaining = new AtomicInteger(parts);
            crcs = new long[parts];
            lengths = new long[parts];
        }

        /** Records a part; true when it was the last one. */
        boolean partDone(OutputPiece p, long crc) {
            crcs[p.part()] = crc;
            lengths[p.part()] = p.byteLength();
            return remaining.decrementAndGet() == 0; // the decrement publishes the stores above to the last worker
        }

        long combined() {
            long c = crcs[0];
            for (int i = 1; i < crcs.length; i++) c = Crc32.combine(c, crcs[i], lengths[i]);
            return c;
        }
    }

    private void positioned(ConversionPlan plan, OutputWriter.Positioned writer, ConversionListener listener, Run run)
            throws IOException {
        List<OutputPiece> pieces = new ArrayList<>();
        Map<OutputTensor, TensorState> states = new IdentityHashMap<>();
        for (OutputTensor t : plan.tensors()) {
            List<OutputPiece> parts = OutputPiece.split(t, pieceBytes);
            states.put(t, new TensorState(parts.size()));
            pieces.addAll(parts);
        }
        // Source order; the sort is stable, so pieces of one record keep their byte order.
        List<OutputPiece.ReadPosition> at = pieces.stream().map(OutputPiece::readPosition).toList();
        List<Integer> order = new ArrayList<>(pieces.size());
        for (int i = 0; i < pieces.size(); i++) order.add(i);
        order.sort(Comparator.comparing(at::get));
        boolean crc = writer.needsCrc32();
        RecordFold fold = new RecordFold();
        for (int i : order)
            run.submit(pieces.get(i), p -> {
                long sum = writeStoredRuns(p, writer, crc, fold, run.release);
                if (sum == NOT_STORED_RUNS) {
                    Scratch scratch = run.scratch.get();
                    MemorySegment dst = scratch.piece.get(p.byteLength());
                    fill(p, dst, scratch.cast, fold, run.release);
                    sum = crc ? Crc32.of(dst) : -1;
                    writer.write(p.tensor(), p.byteOffset(), dst);
                }
                TensorState s = states.get(p.tensor());
                boolean last = s.partDone(p, sum);
                if (last) writer.complete(p.tensor(), crc ? s.combined() : -1);
                return last;
            });
        for (int tensorsLeft = plan.tensors().size(); tensorsLeft > 0; ) {
            Done d = run.next();
            listener.bytesWritten(d.piece().byteLength());
            if (d.tensorDone()) {
                tensorsLeft--;
                listener.tensorWritten(d.piece().tensor());
            }
        }
        fold.finish(); // records not proven by their runs: checked before the caller publishes anything
    }

    /** What {@link #writeStoredRuns} returns for a piece whose bytes are not all stored runs. */
    private static final long NOT_STORED_RUNS = Long.MIN_VALUE;

    /**
     * A piece whose items all copy bytes as they are (same dtype, no transpose) into contiguous runs, from stored
     * pieces that hold them as contiguous runs too — a DCP or torch_dist chunk into its rows, a TP shard into its
     * slot — is written straight from the mapped source: no copy through the worker's buffer, and its CRC-32 is
     * taken from the source bytes in that one pass. Returns the piece's CRC-32 (-1 when {@code crc} is false), or
     * {@link #NOT_STORED_RUNS} when some item is not such a copy (runs written before it are written again, with
     * the same bytes, by the general path).
     */
    private static long writeStoredRuns(OutputPiece p, OutputWriter.Positioned writer, boolean crc, RecordFold fold,
                                        Runnable release) throws IOException {
        OutputTensor t = p.tensor();
        long[] shape = p.box().sizes();
        int es = t.dtype().byteSize();
        for (CopyItem it : p.items())
            if (it.isZeroFill() || !t.isDirectCopy(it) || !isContiguous(shape, it.destination())) return NOT_STORED_RUNS;
        List<long[]> crcs = new ArrayList<>(); // {piece byte, length, crc} per run
        // runs that prove their records, reported once the whole piece went this way: on a fallback the general path
        // copies (and reports) the same bytes again
        List<Runnable> proofs = new ArrayList<>();
        for (CopyItem it : p.items()) {
            long start = elementOffset(shape, it.destination().offsets()) * es;
            GlobalTensor source = it.source().tensor();
            boolean runs = TensorAssembler.forEachStoredRun(source, it.source().box(), piece -> fold.open(source, piece),
                    (piece, storageByte, bytes, boxByte) -> {
                        boolean proves = fold.tracks(piece); // the run's CRC-32 also checks its source record
                        long sum = crc || proves ? Crc32.of(bytes) : 0;
                        if (crc) crcs.add(new long[]{start + boxByte, bytes.byteSize(), sum});
                        writer.write(t, p.byteOffset() + start + boxByte, bytes);
                        long length = bytes.byteSize();
                        if (proves) proofs.add(() -> fold.copied(piece, storageByte, length, sum));
                        return true;
                    }, release);
            if (!runs) return NOT_STORED_RUNS;
        }
        proofs.forEach(Runnable::run);
        if (!crc) return -1;
        crcs.sort(Comparator.comparingLong(r -> r[0]));
        long sum = 0; // the CRC-32 of no bytes
        for (long[] r : crcs) sum = Crc32.combine(sum, r[2], r[1]);
        return sum;
    }

    private static void awaitQuietly(ExecutorService pool) {
        boolean interrupted = false;
        while (true) {
            try {
                if (pool.awaitTermination(1, TimeUnit.DAYS)) break;
            } catch (InterruptedException e) {
                interrupted = true; // keep waiting: no worker may outlive the output it writes into
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    private static void rethrow(Throwable f) throws IOException {
        if (f instanceof IOException e) throw e;
        if (f instanceof UncheckedIOException e) throw e.getCause();
        if (f instanceof RuntimeException e) throw e;
        if (f instanceof Error e) throw e;
        throw new IllegalStateException(f);
    }

    /**
     * A worker's two buffers, reused by every piece it writes (native, never the heap): the piece's output bytes,
     * written to the file when complete, and the source rows of a cast or transpose.
     */
    private final class Scratch {
        final Buffer piece = new Buffer(pieceBytes);
        final Buffer cast = new Buffer(pieceBytes);
    }

    /**
     * One growing native buffer. It doubles (up to {@code cap}, or to a larger request) rather than growing to each
     * request, and each size has an arena of its own that the GC frees once replaced: pieces come in all sizes, and
     * a buffer regrown in small steps out of one arena would hold every size it ever had.
     */
    private static final class Buffer {
        final long cap;
        MemorySegment buf;

        Buffer(long cap) {
            this.cap = cap;
        }

        MemorySegment get(long bytes) {
            if (buf == null || buf.byteSize() < bytes) {
                long size = Math.max(bytes, Math.min(cap, Math.max(1L << 20, buf == null ? 0 : 2 * buf.byteSize())));
                buf = Arena.ofAuto().allocate(size, 64);
            }
            return buf.asSlice(0, bytes);
        }
    }

    /**
     * Executes the piece's items into {@code dst}, which holds the piece's box as a row-major tensor of its own. The
     * items tile the piece (plans are checked to cover each tensor exactly), so every byte of the reused buffer is
     * written; should they not, the rest is zero, as in a file region nothing was written to.
     */
    private void fill(OutputPiece p, MemorySegment dst, Buffer cast, RecordFold fold, Runnable release) throws IOException {
        OutputTensor t = p.tensor();
        long[] shape = p.box().sizes();
        int es = t.dtype().byteSize();
        long covered = 0;
        for (CopyItem it : p.items()) covered += it.numel();
        if (covered != p.box().numel()) dst.fill((byte) 0);
        for (CopyItem it : p.items()) {
            Box box = it.destination();
            if (it.isZeroFill()) {
                kernels.fillZero(dst, t.dtype(), shape, box);
            } else if (t.isDirectCopy(it) && isContiguous(shape, box)) {
                // stored parts that are blocks of their record (a row-parallel shard's columns) are copied from
                // the mapping block by block, which also checks their records; others are gathered
                if (castFromStoredRuns(t, it, it.source(), shape, dst, box.offsets(), fold, release)) continue;
                long start = elementOffset(shape, box.offsets());
                kernels.gather(it.source().tensor(), it.source().box(), dst.asSlice(start * es, it.numel() * es), release);
            } else {
                copyConverted(t, it, shape, dst, cast, fold, release);
            }
        }
    }

    /** The source in row chunks that fit the scratch limit, each gathered, then cast/transposed into its box. */
    private void copyConverted(OutputTensor t, CopyItem it, long[] shape, MemorySegment dst, Buffer scratch, RecordFold fold,
                               Runnable release) throws IOException {
        TensorSlice s = it.source();
        int srcEs = t.sourceDtype().byteSize();
        long rows = s.rank() == 0 ? 1 : s.dim(0);
        long rowElems = s.rank() == 0 ? 1 : s.numel() / Math.max(1, rows);
        long chunk = Math.max(1, pieceBytes / Math.max(1, rowElems * srcEs));
        for (long r = 0; r < rows; r += chunk) {
            long n = Math.min(chunk, rows - r);
            TensorSlice sub = s.rank() == 0 ? s : s.rows(r, n);
            long[] at = it.destination().offsets();
            if (s.rank() > 0) at[it.transpose() ? 1 : 0] += r;
            if (castFromStoredRuns(t, it, sub, shape, dst, at, fold, release)) continue;
            MemorySegment buf = scratch.get(sub.numel() * srcEs);
            kernels.gather(sub.tensor(), sub.box(), buf, release);
            kernels.copyBox(buf, t.sourceDtype(), sub.shape(), dst, t.dtype(), shape, at, it.transpose());
        }
    }

    /**
     * Casts (and/or transposes) {@code sub} straight out of the mapped stored pieces when each holds its part as one
     * contiguous run — the usual chunk, a column-parallel shard's rows, a row-parallel shard's column block — skipping
     * the gather into the worker's buffer. False when some part is not (parts cast before it are cast again, to the
     * same bytes, by the general path).
     */
    private boolean castFromStoredRuns(OutputTensor t, CopyItem it, TensorSlice sub, long[] shape, MemorySegment dst,
                                       long[] at, RecordFold fold, Runnable release) throws IOException {
        if (sub.numel() == 0) return false;
        int squeezed = sub.squeezed(); // leading axes of size 1 of the box that the slice (and the destination) lacks
        GlobalTensor source = sub.tensor();
        return TensorAssembler.forEachStoredBlock(source, sub.box(), piece -> fold.open(source, piece), new TensorAssembler.SourcedBlockSink() {
            @Override
            public boolean accept(TensorPiece piece, long storageByte, MemorySegment bytes, long[] offsets, long[] sizes) {
                boolean proves = fold.tracks(piece); // the block is a run of its record: its CRC-32 checks the record
                long sum = proves ? Crc32.of(bytes) : 0;
                long[] to = at.clone();
                for (int i = squeezed; i < offsets.length; i++) to[it.transpose() ? 1 - (i - squeezed) : i - squeezed] += offsets[i];
                long[] block = Arrays.copyOfRange(sizes, squeezed, sizes.length);
                kernels.copyBox(bytes, t.sourceDtype(), block, dst, t.dtype(), shape, to, it.transpose());
                if (proves) fold.copied(piece, storageByte, bytes.byteSize(), sum);
                return true;
            }

            @Override
            public void notARun(TensorPiece piece) {
                fold.checkNow(piece); // gathered instead: checked before use, as before
            }
        }, release);
    }

    /** A box is one contiguous run of a row-major tensor iff its leading axes are single and its trailing ones full. */
    public static boolean isContiguous(long[] shape, Box box) {
        int k = 0;
        while (k < shape.length && box.size(k) == 1) k++;
        for (int i = k + 1; i < shape.length; i++) if (box.size(i) != shape[i]) return false;
        return true;
    }

    private static long elementOffset(long[] shape, long[] offsets) {
        long[] strides = Shapes.contiguousStrides(shape);
        long e = 0;
        for (int i = 0; i < shape.length; i++) e += offsets[i] * strides[i];
        return e;
    }
}
