package ckpt.engine.cuda;

import ckpt.convert.exec.CopyBoxKernels;
import ckpt.convert.exec.TensorKernels;
import ckpt.format.tensor.DType;
import ckpt.format.tensor.Shapes;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@link TensorKernels} on an NVIDIA GPU: {@code copyBox} (cast and/or 2-d transpose into a box) runs through a
 * {@link CudaLane} — pinned staging, chunks overlapped on streams — when {@link Offload} says so; gathering stored
 * pieces (file I/O and strided copies) and zero fills stay on the java kernels, which also take every block the GPU
 * cannot do exactly. Workers borrow lanes from a pool of at most {@code lanes}, made on first use.
 */
final class CudaKernels implements CopyBoxKernels {
    private final CudaDevice device;
    private final Offload offload;
    private final int slots;
    private final long bufferBytes;
    private final int maxLanes;
    private final BlockingQueue<CudaLane> free;
    private final List<CudaLane> made = new ArrayList<>();
    private final Map<String, LongAdder> cpuReasons = new ConcurrentHashMap<>();
    private final AtomicLong gpuBlocks = new AtomicLong(), gpuBytes = new AtomicLong();

    CudaKernels(CudaDevice device, Offload offload, int lanes, int slots, long bufferBytes) {
        this.device = device;
        this.offload = offload;
        this.maxLanes = lanes;
        this.slots = slots;
        this.bufferBytes = bufferBytes;
        this.free = new ArrayBlockingQueue<>(lanes);
    }

    @Override
    public void copyBox(MemorySegment src, DType sd, long[] srcShape, MemorySegment dst, DType dd, long[] dstShape,
                        long[] dstOffsets, boolean transpose) {
        long numel = Shapes.numel(srcShape);
        if (numel == 0) return;
        String reason = offload.cpuReason(sd, dd, numel, transpose);
        List<CopyJob.Chunk> chunks = List.of();
        CopyJob job = null;
        if (reason == null) {
            job = new CopyJob(srcShape, dstShape, dstOffsets, transpose);
            chunks = job.chunks(bufferBytes / Math.max(sd.byteSize(), dd.byteSize()));
            if (chunks.isEmpty()) reason = "transposed blocks with rows wider than " + bufferBytes + " bytes ran on the java kernels";
        }
        if (reason != null) {
            cpuReasons.computeIfAbsent(reason, r -> new LongAdder()).increment();
            CPU.copyBox(src, sd, srcShape, dst, dd, dstShape, dstOffsets, transpose);
            return;
        }
        ElementCode codes = ElementCode.of(sd, dd).orElseThrow();
        CudaLane lane = borrow();
        try {
            ChunkedCopy.run(job, chunks, lane, codes, sd.byteSize(), dd.byteSize(), src, dst);
        } finally {
            free.add(lane);
        }
        gpuBlocks.incrementAndGet();
        gpuBytes.addAndGet(numel * sd.byteSize());
    }

    private CudaLane borrow() {
        device.makeCurrent();
        CudaLane lane = free.poll();
        if (lane != null) return lane;
        synchronized (made) {
            if (made.size() < maxLanes) {
                lane = new CudaLane(device, slots, bufferBytes);
                made.add(lane);
                return lane;
            }
        }
        try {
            return free.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a GPU lane", e);
        }
    }

    @Override
    public List<String> notes() {
        List<String> notes = new ArrayList<>();
        notes.add(String.format(java.util.Locale.ROOT, "%d blocks (%.1f MiB read) cast/copied on %s", gpuBlocks.get(),
                gpuBytes.get() / 1048576.0, device.description));
        cpuReasons.forEach((reason, n) -> notes.add(n.sum() + " " + reason));
        return notes;
    }

    @Override
    public void close() {
        synchronized (made) {
            device.makeCurrent();
            for (CudaLane lane : made) lane.close();
            made.clear();
        }
        device.close();
    }
}
