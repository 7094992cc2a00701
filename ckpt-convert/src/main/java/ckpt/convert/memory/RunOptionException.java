package ckpt.convert.memory;

/**
 * The planned run's options (the values given as {@code ckpt memory} options, or ones a checkpoint lacks and the
 * user must give) do not describe a valid run: a usage error, not bad input. Values the checkpoint's saved args hold
 * that do not fit raise {@link IllegalArgumentException}, which the command reports against the checkpoint.
 */
public final class RunOptionException extends IllegalArgumentException {
    public RunOptionException(String message) {
        super(message);
    }
}
