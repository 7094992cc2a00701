package ckpt.convert.exec;

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
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs a {@link ConversionPlan} with a pool of workers. Every output tensor is cut into {@link OutputPiece}s —
 * contiguous byte ranges of at most {@code pieceBytes} (of output and of source) — so work is parallel across
 * tensors and across the rows of a large tensor. Pieces are taken in source order (file, then offset) so that the
 * workers together read each file front to back. A worker maps its piece's range of the output
 * ({@link OutputWriter#map}), executes the clipped {@link CopyItem}s into it in place, checksums it when the format
 * records CRCs (parts combine with {@link Crc32#combine}, so nothing is read twice), unmaps it and releases the
 * source windows it read. An item whose bytes go as they are into a contiguous run is gathered straight into the
 * output; casts, transposes and non-contiguous boxes go through the worker's scratch buffer of at most
 * {@code pieceBytes}. Memory is bounded by {@code threads × pieceBytes} (output range, source pages, scratch), not
 * by the model or tensor size; the element work is the {@link TensorKernels}'. Output bytes do not depend on the
 * thread count or on the order pieces finish in.
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

    public int threads() {
        return threads;
    }

    public long pieceBytes() {
        return pieceBytes;
    }

    public void execute(ConversionPlan plan, OutputWriter writer, ConversionListener listener) throws IOException {
        execute(plan, writer, listener, () -> { });
    }

    /** What a worker tells the calling thread: a piece was written (and maybe its tensor completed), or it failed. */
    private record Event(OutputPiece piece, boolean tensorDone, Throwable failure) {
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
    }

    /**
     * @param release runs on a worker after each source piece it copies and after each output piece, e.g. to unmap
     *                the source records that worker read ({@code CheckpointIndex::releaseMappings}), so that the
     *                resident set stays bounded by the pieces in flight
     */
    public void execute(ConversionPlan plan, OutputWriter writer, ConversionListener listener, Runnable release)
            throws IOException {
        List<OutputPiece> pieces = new ArrayList<>();
        Map<OutputTensor, TensorState> states = new IdentityHashMap<>();
        for (OutputTensor t : plan.tensors()) {
            List<OutputPiece> parts = OutputPiece.split(t, pieceBytes);
            states.put(t, new TensorState(parts.size()));
            pieces.addAll(parts);
        }
        // Stable: pieces of one record keep their byte order, records follow each file's layout.
        List<OutputPiece> order = new ArrayList<>(pieces.size());
        List<OutputPiece.ReadPosition> at = pieces.stream().map(OutputPiece::readPosition).toList();
        List<Integer> idx = new ArrayList<>(pieces.size());
        for (int i = 0; i < pieces.size(); i++) idx.add(i);
        idx.sort(Comparator.comparing(at::get));
        for (int i : idx) order.add(pieces.get(i));

        BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        boolean crc = writer.needsCrc32();
        int n = Math.max(1, Math.min(threads, order.size()));
        List<Thread> workers = new ArrayList<>(n);
        for (int w = 0; w < n; w++) {
            Thread th = Thread.ofPlatform().name("ckpt-convert-" + w).daemon().unstarted(() -> {
                try (Arena scratchArena = Arena.ofConfined()) {
                    Scratch scratch = new Scratch(scratchArena);
                    int i;
                    while (failed.get() == null && (i = next.getAndIncrement()) < order.size()) {
                        OutputPiece p = order.get(i);
                        TensorState s = states.get(p.tensor());
                        long sum = write(p, writer, scratch, release, crc);
                        s.crcs[p.part()] = sum;
                        s.lengths[p.part()] = p.byteLength();
                        boolean done = s.remaining.decrementAndGet() == 0; // publishes the CRCs written above
                        if (done) writer.complete(p.tensor(), crc ? combine(s) : -1);
                        events.add(new Event(p, done, null));
                    }
                } catch (Throwable e) {
                    failed.compareAndSet(null, e);
                    events.add(new Event(null, false, e));
                } finally {
                    release.run();
                }
            });
            workers.add(th);
        }
        workers.forEach(Thread::start);
        try {
            int tensorsLeft = plan.tensors().size();
            while (tensorsLeft > 0 && failed.get() == null) {
                Event e = events.take();
                if (e.failure() != null) break;
                listener.bytesWritten(e.piece().byteLength());
                if (e.tensorDone()) {
                    tensorsLeft--;
                    listener.tensorWritten(e.piece().tensor());
                }
            }
        } catch (InterruptedException e) {
            failed.compareAndSet(null, e);
            Thread.currentThread().interrupt();
        } finally {
            for (Thread th : workers) joinQuietly(th, failed);
        }
        Throwable f = failed.get();
        if (f != null) rethrow(f);
    }

    private static void joinQuietly(Thread th, AtomicReference<Throwable> failed) {
        while (true) {
            try {
                th.join();
                return;
            } catch (InterruptedException e) {
                failed.compareAndSet(null, e); // stop the others; keep waiting so no worker outlives the output
            }
        }
    }

    private static void rethrow(Throwable f) throws IOException {
        if (f instanceof IOException e) throw e;
        if (f instanceof UncheckedIOException e) throw e.getCause();
        if (f instanceof RuntimeException e) throw e;
        if (f instanceof Error e) throw e;
        if (f instanceof InterruptedException) throw new IOException("conversion interrupted", f);
        throw new IllegalStateException(f);
    }

    private static long combine(TensorState s) {
        long c = s.crcs[0];
        for (int i = 1; i < s.crcs.length; i++) c = Crc32.combine(c, s.crcs[i], s.lengths[i]);
        return c;
    }

    /** Maps the piece's range of the output, fills it, returns its CRC-32 (or 0), unmaps it. */
    private long write(OutputPiece p, OutputWriter writer, Scratch scratch, Runnable release, boolean crc) throws IOException {
        long sum = 0;
        try (Arena region = Arena.ofConfined()) {
            MemorySegment dst = writer.map(p.tensor(), p.byteOffset(), p.byteLength(), region);
            fill(p, dst, scratch, release);
            if (crc) sum = Crc32.of(dst);
        }
        release.run();
        return sum;
    }

    /** One growing scratch buffer per worker, reused by every piece it writes. */
    private static final class Scratch {
        final Arena arena;
        MemorySegment buf;

        Scratch(Arena arena) {
            this.arena = arena;
        }

        MemorySegment get(long bytes) {
            if (buf == null || buf.byteSize() < bytes) buf = arena.allocate(Math.max(1, bytes), 64);
            return buf.asSlice(0, bytes);
        }
    }

    /** Executes the piece's items into {@code dst}, which holds the piece's box as a row-major tensor of its own. */
    private void fill(OutputPiece p, MemorySegment dst, Scratch scratch, Runnable release) {
        OutputTensor t = p.tensor();
        long[] shape = p.box().sizes();
        long[] origin = p.box().offsets();
        int es = t.dtype().byteSize();
        for (CopyItem it : p.items()) {
            Box box = it.destination().relativeTo(origin);
            if (it.isZeroFill()) {
                kernels.fillZero(dst, t.dtype(), shape, box);
            } else if (t.isDirectCopy(it) && isContiguous(shape, box)) {
                long start = elementOffset(shape, box.offsets());
                kernels.gather(it.source().tensor(), it.source().box(), dst.asSlice(start * es, it.numel() * es), release);
            } else {
                copyConverted(t, it, box, shape, dst, scratch, release);
            }
        }
    }

    /** The source in row chunks that fit the scratch limit, each gathered, then cast/transposed into its box. */
    private void copyConverted(OutputTensor t, CopyItem it, Box box, long[] shape, MemorySegment dst, Scratch scratch,
                               Runnable release) {
        TensorSlice s = it.source();
        int srcEs = t.sourceDtype().byteSize();
        long rows = s.rank() == 0 ? 1 : s.dim(0);
        long rowElems = s.rank() == 0 ? 1 : s.numel() / Math.max(1, rows);
        long chunk = Math.max(1, pieceBytes / Math.max(1, rowElems * srcEs));
        for (long r = 0; r < rows; r += chunk) {
            long n = Math.min(chunk, rows - r);
            TensorSlice sub = s.rank() == 0 ? s : s.rows(r, n);
            MemorySegment buf = scratch.get(sub.numel() * srcEs);
            kernels.gather(sub.tensor(), sub.box(), buf, release);
            long[] at = box.offsets();
            if (s.rank() > 0) at[it.transpose() ? 1 : 0] += r;
            kernels.copyBox(buf, t.sourceDtype(), sub.shape(), dst, t.dtype(), shape, at, it.transpose());
        }
    }

    /** A box is one contiguous run of a row-major tensor iff its leading axes are single and its trailing ones full. */
    static boolean isContiguous(long[] shape, Box box) {
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

    /** Peak bytes the workers may hold at once beyond the JVM and the index: output range, source pages, scratch. */
    public long memoryBound() {
        return (long) threads * 3 * pieceBytes;
    }
}
