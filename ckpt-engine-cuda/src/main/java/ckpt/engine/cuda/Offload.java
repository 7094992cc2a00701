package ckpt.engine.cuda;

import ckpt.format.tensor.DType;

import java.util.Locale;

/**
 * Which {@code copyBox} calls go to the GPU. A block must first be one the kernels can do exactly (casts among
 * fp32/bf16/fp16/fp64, same-type copies of 1/2/4/8-byte elements, transposed rows that fit a chunk); then, in
 * {@code auto} mode, it must have work a GPU can speed up (a cast or a transpose) and be large enough to amortise a
 * launch and two copies. {@code all} sends every block the kernels can do, for checking the engine against java.
 * Set with {@code -Dckpt.cuda.offload=auto|all} and {@code -Dckpt.cuda.min-bytes=N}.
 */
record Offload(boolean all, long minBytes) {
    static final long DEFAULT_MIN_BYTES = 1 << 20;

    static Offload fromSystemProperties() {
        String mode = System.getProperty("ckpt.cuda.offload", "auto").trim().toLowerCase(Locale.ROOT);
        if (!mode.equals("auto") && !mode.equals("all"))
            throw new IllegalArgumentException("ckpt.cuda.offload must be auto or all, not '" + mode + "'");
        long min = Long.parseLong(System.getProperty("ckpt.cuda.min-bytes", String.valueOf(DEFAULT_MIN_BYTES)).trim());
        return new Offload(mode.equals("all"), min);
    }

    /** Null when the block goes to the GPU, else why it stays on the java kernels (one reason per kind, for notes). */
    String cpuReason(DType sd, DType dd, long numel, boolean transpose) {
        if (ElementCode.of(sd, dd).isEmpty())
            return sd == dd ? sd + " elements (" + sd.byteSize() + " bytes wide) are copied by the java kernels"
                    : "casts " + sd + " -> " + dd + " are done by the java kernels";
        if (all) return null;
        if (sd == dd && !transpose) return "plain copies (no cast or transpose: a GPU round trip only adds copies) ran on the java kernels";
        if (numel * Math.max(sd.byteSize(), dd.byteSize()) < minBytes)
            return "blocks under " + minBytes + " bytes ran on the java kernels (a launch and two copies cost more)";
        return null;
    }
}
