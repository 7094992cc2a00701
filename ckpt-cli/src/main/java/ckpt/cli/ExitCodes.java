package ckpt.cli;

/** Exit codes of every ckpt command (also documented in {@code ckpt --help} and docs/CLI.md). */
public final class ExitCodes {
    public static final int OK = 0;
    /** Problems found (verify), removals failed (rotate), or the input is bad (a one-line error says which file). */
    public static final int PROBLEMS = 1;
    public static final int USAGE = 2;
    public static final int INTERNAL = 3;

    private ExitCodes() {
    }
}
