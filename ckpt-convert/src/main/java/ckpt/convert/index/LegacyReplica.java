package ckpt.convert.index;

/**
 * A stored copy of part of a global tensor that is not one of its pieces: a TP-replicated tensor on TP ranks ≠ 0,
 * a dense tensor on expert ranks ≠ 0, the last pipeline stage's {@code output_layer.weight} when embeddings are tied.
 * {@code piece.box()} says which part of {@code key} it should equal; {@code verify --deep} compares them.
 *
 * @param key  the global tensor it replicates
 * @param rank the rank directory holding the copy
 */
public record LegacyReplica(String key, String rank, TensorPiece piece) {
}
