package ckpt.convert.exec;

import ckpt.convert.plan.OutputTensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.Arena;
import java.util.List;

/**
 * One output format (torch.save file, HF safetensors dir, Megatron {@code torch_dist} save): lays out its files from
 * the plan when created, gives writable byte ranges of each planned tensor's region (positioned, so that workers fill
 * parts of the output in place and in parallel), and completes the output (indexes, configs, metadata) in
 * {@link #finish}. Writers write into a staging directory; publishing (the rename into place) is the caller's, so a
 * writer never makes a half-written output visible.
 */
public interface OutputWriter extends AutoCloseable {
    /**
     * Bytes {@code [from, from+length)} of planned tensor {@code t} (little-endian, row-major, the tensor's dtype),
     * mapped read-write in {@code arena}. Called from several threads at once for disjoint ranges.
     */
    MemorySegment map(OutputTensor t, long from, long length, Arena arena) throws IOException;

    /** Whether {@link #complete} needs the CRC-32 of each tensor's bytes (formats that record it, e.g. zip). */
    default boolean needsCrc32() {
        return false;
    }

    /**
     * Every byte of {@code t} is written; {@code crc32} is their CRC-32 when {@link #needsCrc32()}, else -1. Called
     * once per tensor, from any thread.
     */
    default void complete(OutputTensor t, long crc32) throws IOException {
    }

    /** Completes the output after every tensor is written; returns the files written, relative to the output dir. */
    List<String> finish() throws IOException;

    @Override
    void close() throws IOException;
}
