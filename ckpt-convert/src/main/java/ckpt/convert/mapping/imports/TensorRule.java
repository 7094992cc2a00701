package ckpt.convert.mapping.imports;

/**
 * One row of a family's table: a Megatron tensor ({@code key} without the {@code decoder.layers.} stacking, which
 * {@code scope} implies), where it lives, how tensor parallelism splits it, and the {@link Rule} that fills it.
 */
public record TensorRule(String key, Scope scope, Split split, Rule rule) {
    /** Which ranks hold the tensor and how it is stacked. */
    public enum Scope {
        /** On the first pipeline stage ({@code embedding.*}). */
        FIRST_STAGE,
        /** On the last pipeline stage ({@code decoder.final_layernorm}, {@code output_layer}). */
        LAST_STAGE,
        /** One per layer, stacked as {@code decoder.layers.<key>} {@code [L, …]} on the layer's stage. */
        LAYER,
        /** One per expert of each layer: {@code decoder.layers.<key>} {@code [L, E, …]}, experts split by EP. */
        EXPERT
    }

    /** How tensor parallelism splits the tensor (mcore's column/row-parallel linears). */
    public enum Split {
        /** Every TP rank holds it all (norms, router, row-parallel biases). */
        REPLICATED,
        /** Column-parallel: rows (axis 0) split in TP equal parts (QKV, vocab). */
        ROWS,
        /** Row-parallel: the last axis split in TP parts (linear_proj, linear_fc2). */
        COLUMNS,
        /** SwiGLU fc1 {@code [gate; up]}: each half split in TP parts, rank r holds gate part r and up part r. */
        GLU
    }

    public String megatronKey() {
        return switch (scope) {
            case FIRST_STAGE, LAST_STAGE -> key;
            case LAYER, EXPERT -> "decoder.layers." + key;
        };
    }
}
