package ckpt.convert.mapping.imports;

import ckpt.format.tensor.DType;

/**
 * A GPT model as Megatron-core describes it, in small parts, built from an HF {@code config.json} by a family's config
 * function; {@link MegatronArgs} turns it into the saved args and the matching command-line flags.
 */
public record MegatronModel(String family, long layers, long hidden, Attention attention, Mlp mlp, Moe moe,
                            Positions positions, Norm norm, Vocab vocab, DType dtype, Double initStd) {
    /** @param window HF {@code sliding_window} (tokens attended, the current one included), or null for full causal attention */
    public record Attention(long heads, long groups, long headDim, boolean qkvBias, boolean linearBias, boolean qkNorm,
                            Long window) {
    }

    /** @param activation {@code swiglu}, {@code gelu} (erf) or {@code gelu_tanh} (openai / gelu_new) */
    public record Mlp(long ffn, String activation, boolean bias) {
        public boolean gated() {
            return "swiglu".equals(activation);
        }
    }

    /** Mixture of experts on every layer: top-k softmax routing renormalized over the chosen experts. */
    public record Moe(long experts, long topK, long expertFfn) {
    }

    /**
     * RoPE ({@code ropeBase} non-null; Llama-3 scaling when {@code llama3Factor}, linear interpolation when
     * {@code linearFactor}) or learned absolute positions; {@code max} positions either way.
     */
    public record Positions(Double ropeBase, Double llama3Factor, Double linearFactor, long max) {
        public boolean rope() {
            return ropeBase != null;
        }
    }

    /** @param kind {@code RMSNorm} or {@code LayerNorm} */
    public record Norm(String kind, double epsilon) {
    }

    /** @param padded Megatron's padded row count for the target TP */
    public record Vocab(long size, long padded, boolean tied) {
        /** Megatron's {@code vocab_size_with_padding}: up to a multiple of {@code divisibleBy × tp}. */
        public static long padded(long size, long divisibleBy, long tp) {
            long m = divisibleBy * tp;
            return (size + m - 1) / m * m;
        }
    }

    public boolean isMoe() {
        return moe != null;
    }

    /** Builds a model step by step (families set what they know, defaults for the rest). */
    public static final class Builder {
        private String family;
        private long layers, hidden;
        private Attention attention;
        private Mlp mlp;
        private Moe moe;
        private Positions positions;
        private Norm norm;
        private Vocab vocab;
        private DType dtype = DType.FLOAT32;
        private Double initStd;

        public Builder family(String f) { family = f; return this; }
        public Builder layers(long l) { layers = l; return this; }
        public Builder hidden(long h) { hidden = h; return this; }
        public Builder attention(Attention a) { attention = a; return this; }
        public Builder mlp(Mlp m) { mlp = m; return this; }
        public Builder moe(Moe m) { moe = m; return this; }
        public Builder positions(Positions p) { positions = p; return this; }
        public Builder norm(Norm n) { norm = n; return this; }
        public Builder vocab(Vocab v) { vocab = v; return this; }
        public Builder dtype(DType d) { dtype = d; return this; }
        public Builder initStd(Double s) { initStd = s; return this; }

        public MegatronModel build() {
            return new MegatronModel(family, layers, hidden, attention, mlp, moe, positions, norm, vocab, dtype, initStd);
        }
    }

    public static Builder builder() {
        return new Builder();
    }
}
