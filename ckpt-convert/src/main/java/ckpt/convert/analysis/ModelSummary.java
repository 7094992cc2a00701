package ckpt.convert.analysis;

import ckpt.format.megatron.ModelConfig;

import java.util.List;

/**
 * The model architecture inspect shows. From the saved args when the checkpoint carries them ({@link #SOURCE_ARGS});
 * otherwise what the tensor shapes reveal ({@link #SOURCE_SHAPES}, see {@link ShapeInference}), with null for what
 * shapes cannot tell (e.g. the head count without a per-head tensor). {@code notes} say what was guessed and why.
 */
public record ModelSummary(String source, Long numLayers, Long hiddenSize, Long ffnHiddenSize, Long numAttentionHeads,
                           Long numQueryGroups, Long kvChannels, Long vocabSize, Long paddedVocabSize,
                           String normalization, Double normEpsilon, String positionEmbeddingType, Double rotaryBase,
                           String activation, Boolean gatedLinearUnit, Boolean tiedEmbeddings, Boolean addBiasLinear,
                           Boolean addQkvBias, Boolean qkLayernorm, Long numExperts, Long maxPositionEmbeddings,
                           String paramsDtype, List<String> notes) {
    public static final String SOURCE_ARGS = "args";
    public static final String SOURCE_SHAPES = "inferred from shapes";

    public ModelSummary {
        notes = notes == null ? List.of() : List.copyOf(notes);
    }

    /** From Megatron's saved args (Megatron's own defaults already applied by {@link ModelConfig}). */
    public static ModelSummary fromArgs(ModelConfig c) {
        return new ModelSummary(SOURCE_ARGS, c.numLayers(), c.hiddenSize(), c.ffnHiddenSize(), c.numAttentionHeads(),
                c.numQueryGroups(), c.kvChannels(), c.vocabSize(), c.paddedVocabSize(), c.normalization(),
                c.normEpsilon(), c.positionEmbeddingType(), c.rotaryBase(), c.activation(), c.gatedLinearUnit(),
                c.tiedEmbeddings(), c.addBiasLinear(), c.addQkvBias(), c.qkLayernorm(), c.numExperts(),
                c.maxPositionEmbeddings(), c.paramsDtype() == null ? null : c.paramsDtype().torchName(), List.of());
    }

    public boolean inferred() {
        return SOURCE_SHAPES.equals(source);
    }

    /** Embedding rows beyond the tokenizer vocab (Megatron pads to a multiple of 128 × TP), when both are known. */
    public Long paddingRows() {
        if (vocabSize == null || paddedVocabSize == null) return null;
        return Math.max(0, paddedVocabSize - vocabSize);
    }
}
