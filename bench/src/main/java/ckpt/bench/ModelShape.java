package ckpt.bench;

import java.util.List;
import java.util.Locale;

/**
 * A Llama-style GPT architecture (RMSNorm, SwiGLU, RoPE, GQA, untied embeddings, no biases) as Megatron saves it.
 *
 * @param vocab padded vocabulary (rows of the embedding and output layer)
 */
public record ModelShape(String name, int layers, long hidden, long ffn, long heads, long groups, long kvChannels,
                         long vocab, long maxPositions, double rotaryBase) {

    /** Shapes by name; {@code tiny} is the {@code megatron-llama-tp2} fixture's architecture. */
    public static final List<ModelShape> NAMED = List.of(
            new ModelShape("tiny", 4, 64, 192, 8, 2, 8, 1024, 128, 10000),
            // TinyLlama-1.1B (Llama 2 vocabulary): small enough that an 8 GB save with optimizer state has ~10 layers
            new ModelShape("tinyllama-1.1b", 22, 2048, 5632, 32, 4, 64, 32000, 2048, 10000),
            new ModelShape("llama3-8b", 32, 4096, 14336, 32, 8, 128, 128256, 8192, 500000),
            new ModelShape("llama3-70b", 80, 8192, 28672, 64, 8, 128, 128256, 8192, 500000),
            new ModelShape("llama3-405b", 126, 16384, 53248, 128, 8, 128, 128256, 8192, 500000));

    public static ModelShape named(String name) {
        for (ModelShape s : NAMED) if (s.name.equals(name.toLowerCase(Locale.ROOT))) return s;
        throw new IllegalArgumentException("unknown shape '" + name + "'; known: "
                + NAMED.stream().map(ModelShape::name).toList());
    }

    public ModelShape withLayers(int n) {
        if (n < 1) throw new IllegalArgumentException("need at least one layer");
        return new ModelShape(name, n, hidden, ffn, heads, groups, kvChannels, vocab, maxPositions, rotaryBase);
    }

    /** Rows of the fused QKV weight: per query group, its query heads then one key and one value head. */
    public long qkvRows() {
        return (heads + 2 * groups) * kvChannels;
    }

    /** Parameters of one transformer layer. */
    public long paramsPerLayer() {
        return 2 * hidden + qkvRows() * hidden + hidden * heads * kvChannels + 2 * ffn * hidden + hidden * ffn;
    }

    /** Parameters outside the layers: embedding, output layer, final norm. */
    public long paramsOutsideLayers() {
        return 2 * vocab * hidden + hidden;
    }

    public long params() {
        return paramsOutsideLayers() + layers * paramsPerLayer();
    }

    /** Checks that TP divides what Megatron splits. */
    public void checkDivisible(int tp, int pp) {
        if (vocab % tp != 0 || groups % tp != 0 || heads % tp != 0 || ffn % tp != 0)
            throw new IllegalArgumentException(name + ": tensor parallel " + tp + " must divide vocab " + vocab
                    + ", query groups " + groups + ", heads " + heads + " and ffn " + ffn);
        if (layers % pp != 0) throw new IllegalArgumentException(name + ": pipeline parallel " + pp + " must divide " + layers + " layers");
    }
}
