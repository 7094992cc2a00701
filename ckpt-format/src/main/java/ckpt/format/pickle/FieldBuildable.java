package ckpt.format.pickle;

/**
 * A {@link Buildable} that can also take its BUILD state as {@link FieldState} fields, read without making the
 * state dict. The reader offers this only for a state of the plain shape; the object must either take it whole and
 * answer true, or change nothing and answer false (the reader then reads the span opcode by opcode and calls
 * {@link #build(Object)} with the dict as usual).
 */
public interface FieldBuildable extends Buildable {
    boolean build(FieldState state);
}
