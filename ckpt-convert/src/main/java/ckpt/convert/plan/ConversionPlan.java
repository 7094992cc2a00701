package ckpt.convert.plan;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What a conversion writes: the output tensors in output order, each with the pieces that fill it. Built from
 * metadata alone; sizes are known, so writers lay out their files (and shards) before any data moves.
 */
public record ConversionPlan(List<OutputTensor> tensors) {
    public ConversionPlan {
        tensors = List.copyOf(tensors);
        Set<String> names = new HashSet<>();
        for (OutputTensor t : tensors)
            if (!names.add(t.name())) throw new IllegalArgumentException("output tensor " + t.name() + " planned twice");
    }

    /** Every floating-point tensor cast as {@code choice} says. */
    public ConversionPlan withDtype(DtypeChoice choice) {
        return new ConversionPlan(tensors.stream().map(t -> t.withDtype(choice.target(t.sourceDtype()))).toList());
    }

    public long totalBytes() {
        long n = 0;
        for (OutputTensor t : tensors) n = Math.addExact(n, t.byteSize());
        return n;
    }

    public long totalElements() {
        long n = 0;
        for (OutputTensor t : tensors) n = Math.addExact(n, t.numel());
        return n;
    }

    public long largestTensorBytes() {
        long m = 0;
        for (OutputTensor t : tensors) m = Math.max(m, t.byteSize());
        return m;
    }
}
