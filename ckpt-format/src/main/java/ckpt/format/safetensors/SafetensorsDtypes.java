package ckpt.format.safetensors;

import ckpt.format.tensor.DType;

import java.util.List;

/**
 * The safetensors dtype vocabulary in the order of the reference {@code enum Dtype}. The order matters: the
 * reference writer sorts tensors by this order, descending, so that every tensor starts on a multiple of its
 * element size.
 */
final class SafetensorsDtypes {
    /** Ascending, exactly as declared in huggingface/safetensors {@code tensor.rs}. */
    static final List<String> ENUM_ORDER = List.of(
            "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ",
            "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64");

    /** Known to safetensors but packed sub-byte floats, which ckpt neither converts nor maps to a {@link DType}. */
    static final List<String> UNSUPPORTED = List.of("F4", "F6_E2M3", "F6_E3M2");

    private SafetensorsDtypes() {
    }

    /** Position in the reference enum; -1 for a dtype safetensors cannot store (complex128). */
    static int rank(DType dtype) {
        return dtype.safetensorsName().map(ENUM_ORDER::indexOf).orElse(-1);
    }
}
