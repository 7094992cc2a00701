package ckpt.convert.exec;

import ckpt.convert.plan.OutputTensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * One output format (torch.save file, HF safetensors dir, Megatron {@code torch_dist} save): lays out its files from
 * the plan when created, takes every planned tensor's bytes, and completes the output (indexes, configs, metadata)
 * in {@link #finish}. Writers write into a staging directory; publishing (the rename into place) is the caller's, so
 * a writer never makes a half-written output visible. Every tensor's place is known up front ({@link Positioned}), so
 * the {@link PlanExecutor}'s workers write byte ranges of any tensors at once, in place (parallel across tensors and
 * within them), and the tasks of {@code --part} fill disjoint ones.
 */
public sealed interface OutputWriter extends AutoCloseable permits OutputWriter.Positioned {
    /** Completes the output after every tensor is written; returns the files written, relative to the output dir. */
    List<String> finish() throws IOException;

    @Override
    void close() throws IOException;

    non-sealed interface Positioned extends OutputWriter {
        /**
         * Writes {@code bytes} (little-endian, row-major, the tensor's dtype) as bytes {@code [from, from+size)} of
         * planned tensor {@code t}, with positioned writes. Called from several threads at once for disjoint ranges.
         */
        void write(OutputTensor t, long from, MemorySegment bytes) throws IOException;

        /** Whether {@link #complete} needs the CRC-32 of each tensor's bytes (formats that record it, e.g. zip). */
        default boolean needsCrc32() {
            return false;
        }

        /**
         * Every byte of {@code t} is written; {@code crc32} is their CRC-32 when {@link #needsCrc32()}, else -1.
         * Called once per tensor, from any thread.
         */
        default void complete(OutputTensor t, long crc32) throws IOException {
        }
    }
}
