package ckpt.cli;

import ckpt.convert.analysis.ModelSummary;

import java.util.ArrayList;
import java.util.List;

/** The model in one line for the first screen: family guess, depth, widths, heads, vocab, dtype. */
final class ModelLine {
    private ModelLine() {
    }

    static String of(ModelSummary m) {
        List<String> a = new ArrayList<>();
        a.add(InspectPrinter.v(m.numLayers()) + " layers");
        a.add("hidden " + InspectPrinter.v(m.hiddenSize()));
        if (m.ffnHiddenSize() != null) a.add("ffn " + m.ffnHiddenSize());
        if (m.numAttentionHeads() != null)
            a.add("heads " + m.numAttentionHeads() + (m.numQueryGroups() == null || m.numQueryGroups().equals(m.numAttentionHeads())
                    ? "" : " / " + m.numQueryGroups() + " query groups"));
        else if (m.numQueryGroups() != null) a.add(m.numQueryGroups() + " query groups");
        if (m.vocabSize() != null) a.add("vocab " + m.vocabSize());
        else if (m.paddedVocabSize() != null) a.add("vocab " + m.paddedVocabSize() + " (padded)");
        if (m.numExperts() != null) a.add(m.numExperts() + " experts");
        if (m.paramsDtype() != null) a.add(SizeLine.shortName(m.paramsDtype()));
        String family = family(m);
        return (family == null ? "" : family + ": ") + String.join(", ", a);
    }

    /** A guess from the architecture's traits, named as a guess; null when nothing distinctive is known. */
    static String family(ModelSummary m) {
        boolean gated = Boolean.TRUE.equals(m.gatedLinearUnit());
        boolean rms = m.normalization() != null && m.normalization().toLowerCase(java.util.Locale.ROOT).contains("rms");
        if (m.numExperts() != null && m.numExperts() > 1) return "mixture of experts (Mixtral-like, a guess)";
        if (gated && rms && Boolean.TRUE.equals(m.qkLayernorm())) return "Qwen3-like (a guess)";
        if (gated && rms && Boolean.TRUE.equals(m.addQkvBias())) return "Qwen2-like (a guess)";
        if (gated && rms) return "Llama-like (a guess)";
        if (!gated && m.normalization() != null && m.normalization().equals("LayerNorm")
                && "learned_absolute".equals(m.positionEmbeddingType())) return "GPT-2-like (a guess)";
        return null;
    }
}
