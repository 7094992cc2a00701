package ckpt.convert.mapping.imports;

import ckpt.convert.mapping.MegatronModuleNames;
import ckpt.convert.mapping.MegatronSource;
import ckpt.convert.plan.OutputTensor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * One HF family that can be imported into Megatron: a config function ({@code config.json} and the target TP → the
 * Megatron model, refusing what the family cannot express) and a table (the model → one {@link TensorRule} per
 * Megatron tensor). The table reads both ways: {@link Rule#toMegatron} for imports, {@link #toHf} for exports. Adding
 * a family is a new entry in {@link ImportFamilies}, not new code paths.
 *
 * @param stripPrefix a name prefix some exports of the family omit ({@code transformer.} for GPT-2), or null
 */
public record ImportFamily(String name, List<String> modelTypes, String stripPrefix,
                           BiFunction<HfConfig, Long, MegatronModel> config,
                           Function<MegatronModel, List<TensorRule>> table) {
    private static final String EXPERTS = "mlp.experts.experts.";

    /**
     * The HF tensors of a Megatron checkpoint by the table's inverse rules, in the order HF checkpoints list them:
     * the first stage's tensors, then layer by layer (each layer's rules in table order, an expert rule for every
     * expert), then the last stage's. A layer's norms are found under the local spec's own names too
     * ({@link MegatronModuleNames#localSpecName}), as checkpoints saved without the spec's key map have them.
     */
    public List<OutputTensor> toHf(MegatronModel m, MegatronSource src) {
        List<TensorRule> rules = table.apply(m);
        List<OutputTensor> out = new ArrayList<>();
        for (TensorRule r : rules)
            if (r.scope() == TensorRule.Scope.FIRST_STAGE) out.addAll(r.rule().toHf(src.require(r.key()), Position.GLOBAL));
        for (long i = 0; i < m.layers(); i++) {
            for (TensorRule r : rules) {
                switch (r.scope()) {
                    case LAYER -> out.addAll(r.rule().toHf(src.requireLayer(i, layerNames(r.key())), Position.layer(i)));
                    case EXPERT -> {
                        String suffix = r.key().substring(EXPERTS.length());
                        for (long e = 0; e < m.moe().experts(); e++)
                            out.addAll(r.rule().toHf(src.requireExpert(i, e, suffix), new Position(i, e)));
                    }
                    default -> {
                    }
                }
            }
        }
        for (TensorRule r : rules)
            if (r.scope() == TensorRule.Scope.LAST_STAGE) out.addAll(r.rule().toHf(src.require(r.key()), Position.GLOBAL));
        return out;
    }

    private static String[] layerNames(String key) {
        return MegatronModuleNames.localSpecName(key).map(local -> new String[]{key, local}).orElse(new String[]{key});
    }
}
