package ckpt.convert.plan;

import ckpt.format.tensor.DType;

import java.util.Locale;

/**
 * {@code --dtype keep|bf16|fp16|fp32}: the dtype floating-point weights are written in. Integer and boolean
 * tensors, and float8 payloads (which need their scales), are never cast — like {@code module.to(dtype)}.
 */
public enum DtypeChoice {
    KEEP(null), BF16(DType.BFLOAT16), FP16(DType.FLOAT16), FP32(DType.FLOAT32);

    private final DType target;

    DtypeChoice(DType target) {
        this.target = target;
    }

    public static DtypeChoice parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "keep" -> KEEP;
            case "bf16", "bfloat16" -> BF16;
            case "fp16", "float16", "half" -> FP16;
            case "fp32", "float32", "float" -> FP32;
            default -> throw new IllegalArgumentException("unknown dtype '" + s + "' (expected keep, bf16, fp16 or fp32)");
        };
    }

    /** The dtype a tensor stored as {@code source} is written in. */
    public DType target(DType source) {
        if (target == null || !isCastable(source)) return source;
        return target;
    }

    public static boolean isCastable(DType d) {
        return d == DType.FLOAT32 || d == DType.FLOAT16 || d == DType.BFLOAT16 || d == DType.FLOAT64;
    }
}
