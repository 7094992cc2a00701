package ckpt.engine.cuda;

import ckpt.format.tensor.DType;

import java.util.Optional;

/**
 * The kernels' element codes for one copy (casts.h's {@code CK_*}): the four floating types the java engine casts
 * between, and raw codes for same-type copies of any dtype 1, 2, 4 or 8 bytes wide.
 */
record ElementCode(int source, int target) {
    static final int F32 = 0, BF16 = 1, F16 = 2, F64 = 3, RAW8 = 4, RAW16 = 5, RAW32 = 6, RAW64 = 7;

    /** The codes for a copy from {@code sd} to {@code dd}, or empty when the kernels cannot do it exactly. */
    static Optional<ElementCode> of(DType sd, DType dd) {
        if (sd == dd) return raw(sd.byteSize()).map(c -> new ElementCode(c, c));
        return castable(sd).flatMap(s -> castable(dd).map(d -> new ElementCode(s, d)));
    }

    private static Optional<Integer> castable(DType d) {
        return switch (d) {
            case FLOAT32 -> Optional.of(F32);
            case BFLOAT16 -> Optional.of(BF16);
            case FLOAT16 -> Optional.of(F16);
            case FLOAT64 -> Optional.of(F64);
            default -> Optional.empty();
        };
    }

    private static Optional<Integer> raw(int width) {
        return switch (width) {
            case 1 -> Optional.of(RAW8);
            case 2 -> Optional.of(RAW16);
            case 4 -> Optional.of(RAW32);
            case 8 -> Optional.of(RAW64);
            default -> Optional.empty();
        };
    }
}
