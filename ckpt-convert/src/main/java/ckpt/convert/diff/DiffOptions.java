package ckpt.convert.diff;

import ckpt.convert.exec.TensorKernels;

import java.util.function.Predicate;

/**
 * One {@code ckpt diff} run.
 *
 * @param atol       absolute tolerance: elements with {@code |a−b| <= atol + rtol·|b|} count as equal (numpy's isclose)
 * @param filter     which tensors to compare, tested on the shared name and on each side's own name
 * @param optimizer  also compare optimizer state (by its own keys)
 * @param threads    tensors compared at once
 * @param blockBytes elements read per side and step, in bytes: with {@code threads}, bounds the memory in flight
 * @param kernels    the tensor engine's kernels that read each block out of the stored pieces (gathers, transposed or
 *                   strided box copies); the statistics are always the JVM's own double arithmetic
 *                   ({@link ElementStats}), so the reported numbers do not depend on the engine
 */
public record DiffOptions(double atol, double rtol, Predicate<String> filter, boolean optimizer, int threads, long blockBytes,
                          TensorKernels kernels) {
    public static final long DEFAULT_BLOCK = 16L << 20;

    public DiffOptions {
        if (!(atol >= 0) || !(rtol >= 0)) throw new IllegalArgumentException("--atol and --rtol must be non-negative numbers");
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1");
        if (blockBytes < 64) throw new IllegalArgumentException("block size must be at least 64 bytes");
        filter = filter == null ? k -> true : filter;
        kernels = kernels == null ? TensorKernels.CPU : kernels;
    }

    public static DiffOptions defaults() {
        return new DiffOptions(0, 0, null, false, defaultThreads(), DEFAULT_BLOCK, TensorKernels.CPU);
    }

    public static int defaultThreads() {
        return Math.max(1, Math.min(8, Runtime.getRuntime().availableProcessors()));
    }

    public DiffOptions withTolerances(double a, double r) {
        return new DiffOptions(a, r, filter, optimizer, threads, blockBytes, kernels);
    }

    public DiffOptions withFilter(Predicate<String> f) {
        return new DiffOptions(atol, rtol, f, optimizer, threads, blockBytes, kernels);
    }

    public DiffOptions withOptimizer(boolean opt) {
        return new DiffOptions(atol, rtol, filter, opt, threads, blockBytes, kernels);
    }

    public DiffOptions withThreads(int t) {
        return new DiffOptions(atol, rtol, filter, optimizer, t, blockBytes, kernels);
    }

    public DiffOptions withBlockBytes(long b) {
        return new DiffOptions(atol, rtol, filter, optimizer, threads, b, kernels);
    }

    public DiffOptions withKernels(TensorKernels k) {
        return new DiffOptions(atol, rtol, filter, optimizer, threads, blockBytes, k);
    }
}
