package ckpt.engine.cuda;

import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

import java.lang.foreign.MemorySegment;

import static ckpt.engine.cuda.CudaDevice.check;

/**
 * One worker's share of the device: {@code slots} streams, each with a pinned input and output buffer and their
 * device twins. A chunk in a slot is upload, kernel, download on that slot's stream; the slots' streams run
 * concurrently, so one slot's upload overlaps another's kernel and download.
 */
final class CudaLane implements Staging, AutoCloseable {
    private final CudaDevice device;
    private final long bytes;
    private final CUstream_st[] streams;
    private final Pointer[] hostIn, hostOut;
    private final MemorySegment[] in, out;
    private final long[] devIn, devOut;

    CudaLane(CudaDevice device, int slots, long bufferBytes) {
        this.device = device;
        this.bytes = bufferBytes;
        streams = new CUstream_st[slots];
        hostIn = new Pointer[slots];
        hostOut = new Pointer[slots];
        in = new MemorySegment[slots];
        out = new MemorySegment[slots];
        devIn = new long[slots];
        devOut = new long[slots];
        try {
            for (int s = 0; s < slots; s++) {
                streams[s] = new CUstream_st();
                check(cudart.cuStreamCreate(streams[s], cudart.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
                hostIn[s] = pinned(bufferBytes);
                hostOut[s] = pinned(bufferBytes);
                in[s] = MemorySegment.ofAddress(hostIn[s].address()).reinterpret(bufferBytes);
                out[s] = MemorySegment.ofAddress(hostOut[s].address()).reinterpret(bufferBytes);
                devIn[s] = deviceBuffer(bufferBytes);
                devOut[s] = deviceBuffer(bufferBytes);
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public int slots() {
        return streams.length;
    }

    @Override
    public long bufferBytes() {
        return bytes;
    }

    @Override
    public MemorySegment input(int slot) {
        return in[slot];
    }

    @Override
    public MemorySegment output(int slot) {
        return out[slot];
    }

    @Override
    public void submit(int slot, ElementCode codes, long count, long cols) {
        long inBytes = count * ckWidth(codes.source()), outBytes = count * ckWidth(codes.target());
        CUstream_st stream = streams[slot];
        check(cudart.cuMemcpyHtoDAsync(devIn[slot], hostIn[slot], inBytes, stream), "cuMemcpyHtoDAsync");
        if (cols > 0) {
            long rows = count / cols;
            LaunchGeometry g = LaunchGeometry.transpose(rows, cols);
            launch(device.transpose, g, stream, new LongPointer(1).put(devIn[slot]), new IntPointer(1).put(codes.source()),
                    new LongPointer(1).put(devOut[slot]), new IntPointer(1).put(codes.target()), new LongPointer(1).put(rows),
                    new LongPointer(1).put(cols));
        } else {
            LaunchGeometry g = LaunchGeometry.elementwise(count, device.multiprocessors * 16);
            launch(device.convert, g, stream, new LongPointer(1).put(devIn[slot]), new IntPointer(1).put(codes.source()),
                    new LongPointer(1).put(devOut[slot]), new IntPointer(1).put(codes.target()), new LongPointer(1).put(count));
        }
        check(cudart.cuMemcpyDtoHAsync(hostOut[slot], devOut[slot], outBytes, stream), "cuMemcpyDtoHAsync");
    }

    @Override
    public void await(int slot) {
        check(cudart.cuStreamSynchronize(streams[slot]), "cuStreamSynchronize");
    }

    /** cuLaunchKernel copies the argument values before it returns, so they are freed right after. */
    private static void launch(CUfunc_st function, LaunchGeometry g, CUstream_st stream, Pointer... args) {
        try (PointerPointer<Pointer> params = new PointerPointer<>(args)) {
            check(cudart.cuLaunchKernel(function, g.gridX(), g.gridY(), 1, g.blockX(), g.blockY(), 1, 0, stream, params, null),
                    "cuLaunchKernel");
        } finally {
            for (Pointer a : args) a.close();
        }
    }

    static int ckWidth(int code) {
        return switch (code) {
            case ElementCode.F32, ElementCode.RAW32 -> 4;
            case ElementCode.BF16, ElementCode.F16, ElementCode.RAW16 -> 2;
            case ElementCode.F64, ElementCode.RAW64 -> 8;
            default -> 1;
        };
    }

    private static Pointer pinned(long bytes) {
        Pointer p = new Pointer();
        check(cudart.cuMemAllocHost(p, bytes), "cuMemAllocHost (" + bytes + " bytes pinned)");
        return p;
    }

    private static long deviceBuffer(long bytes) {
        long[] p = new long[1];
        check(cudart.cuMemAlloc(p, bytes), "cuMemAlloc (" + bytes + " bytes)");
        return p[0];
    }

    @Override
    public void close() {
        for (int s = 0; s < streams.length; s++) {
            if (streams[s] != null && !streams[s].isNull()) {
                cudart.cuStreamSynchronize(streams[s]);
                cudart.cuStreamDestroy(streams[s]);
            }
            if (hostIn[s] != null) cudart.cuMemFreeHost(hostIn[s]);
            if (hostOut[s] != null) cudart.cuMemFreeHost(hostOut[s]);
            if (devIn[s] != 0) cudart.cuMemFree(devIn[s]);
            if (devOut[s] != 0) cudart.cuMemFree(devOut[s]);
        }
    }
}
