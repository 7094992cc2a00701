package ckpt.format.pickle;

/**
 * Builds the value of a recognized callable for REDUCE / NEWOBJ. It never runs Python: it interprets the arguments.
 * May return a {@link Buildable} when a later BUILD fills the value. Throw {@link IllegalArgumentException} for
 * arguments it does not understand; the reader turns it into a {@link PickleException} with the byte offset.
 */
@FunctionalInterface
public interface Reducer {
    Object reduce(PyTuple args);
}
