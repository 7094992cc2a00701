package ckpt.cli;

import picocli.CommandLine;

import java.io.PrintWriter;

/**
 * A usage error is two lines on stderr, like git's or kubectl's: {@code ckpt: <what is wrong>} (with picocli's
 * suggestion for a mistyped option or command) and where the help is; the full help stays one {@code --help} away.
 */
final class UsageErrors implements CommandLine.IParameterExceptionHandler {
    @Override
    public int handleParseException(CommandLine.ParameterException ex, String[] args) {
        CommandLine cl = ex.getCommandLine();
        PrintWriter err = cl.getErr();
        String line = ex.getMessage();
        if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
            line += " (did you mean " + String.join(" or ", u.getSuggestions()) + "?)";
        }
        err.println("ckpt: " + line);
        err.println("See '" + cl.getCommandSpec().qualifiedName() + " --help'.");
        err.flush();
        return ExitCodes.USAGE;
    }
}
