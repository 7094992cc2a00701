package ckpt.convert.exec;

import ckpt.convert.plan.OutputTensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * One output format (torch.save file, HF safetensors dir, Megatron {@code torch_dist} save): lays out its files from
 * the plan when created, gives each planned tensor a writable region, and completes the output (indexes, configs,
 * metadata) in {@link #finish}. Writers write into a staging directory; publishing (the rename into place) is the
 * caller's, so a writer never makes a half-written output visible.
 */
public interface OutputWriter extends AutoCloseable {
    /** Fills one tensor's bytes (little-endian, row-major, the tensor's dtype). */
    @FunctionalInterface
    interface Fill {
        void into(MemorySegment region);
    }

    /** Writes planned tensor {@code t}: its region is mapped, filled by {@code fill}, then completed. */
    void write(OutputTensor t, Fill fill) throws IOException;

    /** Completes the output after every tensor is written; returns the files written, relative to the output dir. */
    List<String> finish() throws IOException;

    @Override
    void close() throws IOException;
}
