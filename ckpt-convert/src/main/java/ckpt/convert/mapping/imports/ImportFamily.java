package ckpt.convert.mapping.imports;

import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * One HF family that can be imported into Megatron: a config function ({@code config.json} and the target TP → the
 * Megatron model, refusing what the family cannot express) and a table (the model → one {@link TensorRule} per
 * Megatron tensor). Adding a family is a new entry in {@link ImportFamilies}, not new code paths.
 *
 * @param stripPrefix a name prefix some exports of the family omit ({@code transformer.} for GPT-2), or null
 */
public record ImportFamily(String name, List<String> modelTypes, String stripPrefix,
                           BiFunction<HfConfig, Long, MegatronModel> config,
                           Function<MegatronModel, List<TensorRule>> table) {
}
