package ckpt.convert.mapping;

import ckpt.convert.index.CheckpointIndex;
import ckpt.format.megatron.ModelConfig;
import ckpt.format.tensor.DType;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a family mapping needs to know about one conversion.
 *
 * @param vocabSize   rows of the embedding / output layer to write: the args' {@code vocab_size} (padding trimmed,
 *                    MAPPING.md §2.4) or the padded row count with {@code --keep-padded-vocab}
 * @param weightDtype dtype the weights are written in (for {@code torch_dtype})
 */
public record MappingContext(CheckpointIndex index, ModelConfig config, MegatronSource source, long vocabSize,
                             DType weightDtype) {
    public Map<String, Object> args() {
        return index.args();
    }

    public Optional<Object> arg(String name) {
        return Optional.ofNullable(index.args().get(name));
    }

    public boolean flag(String name) {
        return Boolean.TRUE.equals(index.args().get(name));
    }

    /** Long-valued arg, also when saved as a list element or float with an integral value. */
    public Optional<Long> longArg(String name) {
        return arg(name).flatMap(MappingContext::asLong);
    }

    static Optional<Long> asLong(Object v) {
        if (v instanceof Long l) return Optional.of(l);
        if (v instanceof Integer i) return Optional.of((long) i);
        if (v instanceof Double d && d == Math.rint(d)) return Optional.of(d.longValue());
        return Optional.empty();
    }

    /** {@code window_size} as saved ({@code [left, right]}), or empty for full attention. */
    public Optional<List<?>> windowSize() {
        return arg("window_size").filter(List.class::isInstance).map(v -> (List<?>) v);
    }
}
