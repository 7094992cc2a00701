package ckpt.format.tensor;

import java.util.Locale;
import java.util.Optional;

/**
 * Element types of tensors as PyTorch names them, with the names the other formats use for them.
 * {@code bits} is the element width; packed sub-byte types are not tensors ckpt converts.
 */
public enum DType {
    FLOAT64("float64", 64, "F64", "DoubleStorage"),
    FLOAT32("float32", 32, "F32", "FloatStorage"),
    FLOAT16("float16", 16, "F16", "HalfStorage"),
    BFLOAT16("bfloat16", 16, "BF16", "BFloat16Storage"),
    INT64("int64", 64, "I64", "LongStorage"),
    INT32("int32", 32, "I32", "IntStorage"),
    INT16("int16", 16, "I16", "ShortStorage"),
    INT8("int8", 8, "I8", "CharStorage"),
    UINT8("uint8", 8, "U8", "ByteStorage"),
    BOOL("bool", 8, "BOOL", "BoolStorage"),
    COMPLEX64("complex64", 64, "C64", "ComplexFloatStorage"),
    COMPLEX128("complex128", 128, null, "ComplexDoubleStorage"),
    UINT16("uint16", 16, "U16", null),
    UINT32("uint32", 32, "U32", null),
    UINT64("uint64", 64, "U64", null),
    FLOAT8_E4M3FN("float8_e4m3fn", 8, "F8_E4M3", null),
    FLOAT8_E5M2("float8_e5m2", 8, "F8_E5M2", null),
    FLOAT8_E4M3FNUZ("float8_e4m3fnuz", 8, "F8_E4M3FNUZ", null),
    FLOAT8_E5M2FNUZ("float8_e5m2fnuz", 8, "F8_E5M2FNUZ", null),
    FLOAT8_E8M0FNU("float8_e8m0fnu", 8, "F8_E8M0", null);

    private final String torchName;
    private final int bits;
    private final String safetensorsName;
    private final String storageClass;

    DType(String torchName, int bits, String safetensorsName, String storageClass) {
        this.torchName = torchName;
        this.bits = bits;
        this.safetensorsName = safetensorsName;
        this.storageClass = storageClass;
    }

    /** PyTorch name without the {@code torch.} prefix, e.g. {@code bfloat16}. */
    public String torchName() {
        return torchName;
    }

    public int bits() {
        return bits;
    }

    public int byteSize() {
        return bits / 8;
    }

    /** safetensors dtype string, e.g. {@code BF16}; empty where safetensors has none. */
    public Optional<String> safetensorsName() {
        return Optional.ofNullable(safetensorsName);
    }

    /**
     * Legacy typed-storage class name ({@code BFloat16Storage}); empty for dtypes torch saves through
     * {@code UntypedStorage} plus an explicit dtype ({@code _rebuild_tensor_v3}).
     */
    public Optional<String> storageClass() {
        return Optional.ofNullable(storageClass);
    }

    public boolean isFloatingPoint() {
        return switch (this) {
            case FLOAT64, FLOAT32, FLOAT16, BFLOAT16, FLOAT8_E4M3FN, FLOAT8_E5M2, FLOAT8_E4M3FNUZ, FLOAT8_E5M2FNUZ,
                 FLOAT8_E8M0FNU -> true;
            default -> false;
        };
    }

    /** By PyTorch name, with or without {@code torch.}; also accepts the aliases torch prints (float, half, long…). */
    public static Optional<DType> fromTorchName(String name) {
        String n = name.startsWith("torch.") ? name.substring(6) : name;
        n = switch (n) {
            case "float" -> "float32";
            case "double" -> "float64";
            case "half" -> "float16";
            case "long" -> "int64";
            case "int" -> "int32";
            case "short" -> "int16";
            case "cfloat" -> "complex64";
            case "cdouble" -> "complex128";
            default -> n;
        };
        for (DType d : values()) if (d.torchName.equals(n)) return Optional.of(d);
        return Optional.empty();
    }

    public static Optional<DType> fromSafetensorsName(String name) {
        for (DType d : values()) if (name.equals(d.safetensorsName)) return Optional.of(d);
        return Optional.empty();
    }

    /** By storage class simple name ({@code BFloat16Storage}, also when the module is torch.cuda). */
    public static Optional<DType> fromStorageClass(String className) {
        for (DType d : values()) if (className.equals(d.storageClass)) return Optional.of(d);
        return Optional.empty();
    }

    @Override
    public String toString() {
        return torchName.toLowerCase(Locale.ROOT);
    }
}
