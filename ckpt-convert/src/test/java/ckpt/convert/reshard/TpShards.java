package ckpt.convert.reshard;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.convert.index.GlobalTensor;
import ckpt.format.tensor.Box;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Megatron's TP split of the fixtures' GPT model (local spec), written out independently of the code under test: the
 * tests cut each rank's local tensor from a global tensor and compare it with what the optimizer buckets hold.
 */
final class TpShards {
    private TpShards() {
    }

    static boolean replicated(String key) {
        return key.contains("layer_norm") || key.contains("layernorm");
    }

    /** Split axis of the module's own tensor (after the layer axis); -1 replicated; 2 marks GLU fc1 (rows, gate/up). */
    static int splitAxis(String key) {
        if (replicated(key)) return -1;
        if (key.endsWith("linear_fc1.weight")) return 2;
        if (key.endsWith("linear_proj.weight") || key.endsWith("linear_fc2.weight")) return 1;
        return 0;
    }

    /**
     * TP rank {@code m} of {@code tp}: the local tensor of {@code key} (layer {@code layer} of its stacked global
     * tensor {@code t}, or the whole tensor when {@code layer < 0}), row-major, in the layout the bucket uses.
     */
    static MemorySegment local(GlobalTensor t, String key, int layer, int m, int tp, Arena arena) {
        long[] g = t.shape();
        int lead = layer >= 0 ? 1 : 0;
        long[] off = new long[g.length], size = g.clone();
        if (lead == 1) { off[0] = layer; size[0] = 1; }
        int axis = splitAxis(key);
        long es = t.dtype().byteSize();
        long numel = t.numel() / (lead == 1 ? g[0] : 1) / (axis < 0 ? 1 : tp);
        MemorySegment out = arena.allocate(numel * es);
        if (axis == 2) { // GLU fc1: local rows = [gate_m; up_m]; global rows = [gate_0..gate_tp-1; up_0..up_tp-1]
            long rows = g[lead], half = rows / (2L * tp);
            size[lead] = half;
            off[lead] = m * half;
            long bytes = numel / 2 * es;
            TensorAssembler.assemble(t, new Box(off.clone(), size.clone()), out.asSlice(0, bytes));
            off[lead] = rows / 2 + m * half;
            TensorAssembler.assemble(t, new Box(off, size), out.asSlice(bytes, bytes));
            return out;
        }
        if (axis >= 0) {
            size[lead + axis] = g[lead + axis] / tp;
            off[lead + axis] = m * size[lead + axis];
        }
        TensorAssembler.assemble(t, new Box(off, size), out);
        return out;
    }

    /** Round-to-nearest-even fp32 → bf16, as torch's {@code .to(torch.bfloat16)} (no NaNs in these weights). */
    static short bf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }
}
