package ckpt.cli;

import ckpt.convert.analysis.HfConfig;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** A Hugging Face dir's {@code config.json} for people: one line for the first screen, a block for the details. */
final class HfConfigLines {
    private HfConfigLines() {
    }

    /** "LlamaForCausalLM (llama): 4 layers, hidden 64, ffn 192, heads 8 / 2 kv heads, vocab 256, bf16". */
    static String summary(HfConfig c) {
        List<String> a = new ArrayList<>();
        a.add(InspectPrinter.v(c.numLayers()) + " layers");
        a.add("hidden " + InspectPrinter.v(c.hiddenSize()));
        if (c.intermediateSize() != null) a.add("ffn " + c.intermediateSize());
        if (c.numAttentionHeads() != null)
            a.add("heads " + c.numAttentionHeads() + (c.numKeyValueHeads() == null || c.numKeyValueHeads().equals(c.numAttentionHeads())
                    ? "" : " / " + c.numKeyValueHeads() + " kv heads"));
        if (c.vocabSize() != null) a.add("vocab " + c.vocabSize());
        if (c.numExperts() != null) a.add(c.numExperts() + " experts");
        if (c.dtype() != null) a.add(SizeLine.shortName(c.dtype()));
        return name(c) + " (config.json): " + String.join(", ", a);
    }

    static void details(HfConfig c, PrintWriter out) {
        out.println();
        out.println("config.json (" + name(c) + "):");
        List<String> a = new ArrayList<>();
        a.add("layers " + InspectPrinter.v(c.numLayers()));
        a.add("hidden " + InspectPrinter.v(c.hiddenSize()));
        a.add("ffn " + InspectPrinter.v(c.intermediateSize()));
        a.add("heads " + InspectPrinter.v(c.numAttentionHeads()) + " / kv heads " + InspectPrinter.v(c.numKeyValueHeads())
                + (c.headDim() == null ? "" : " / head dim " + c.headDim()));
        out.println("  " + String.join(", ", a));
        List<String> b = new ArrayList<>();
        b.add("vocab " + InspectPrinter.v(c.vocabSize()));
        b.add("dtype " + InspectPrinter.v(c.dtype()));
        if (c.ropeTheta() != null) b.add("rope theta " + InspectPrinter.fmt(c.ropeTheta()));
        if (c.maxPositionEmbeddings() != null) b.add("max positions " + c.maxPositionEmbeddings());
        b.add("embeddings " + (c.tieWordEmbeddings() == null ? "?" : c.tieWordEmbeddings() ? "tied" : "untied"));
        if (c.numExperts() != null) b.add("experts " + c.numExperts());
        out.println("  " + String.join(", ", b));
    }

    private static String name(HfConfig c) {
        if (c.architecture() != null) return c.architecture() + (c.modelType() == null ? "" : " (" + c.modelType() + ")");
        return c.modelType() == null ? "unknown architecture" : "model_type " + c.modelType();
    }
}
