package ckpt.cli;

import ckpt.convert.engine.EngineUnavailableException;
import ckpt.format.FormatException;
import picocli.CommandLine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * Turns exceptions into one line on stderr and an exit code; a stack trace only with CKPT_DEBUG=1 or for a bug.
 * Bad input (a {@link FormatException}, an I/O error, a value check on input data) is exit 1. Usage errors (exit 2)
 * never get here: picocli reports its parse errors itself, and commands turn bad option values into
 * {@link CommandLine.ParameterException}.
 */
final class ErrorHandler implements CommandLine.IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parseResult) {
        Throwable t = ex instanceof UncheckedIOException u ? u.getCause() : ex;
        boolean debug = "1".equals(System.getenv("CKPT_DEBUG"));
        String line;
        int code = ExitCodes.PROBLEMS;
        if (t instanceof FormatException fe) {
            line = fe.getMessage();
        } else if (t instanceof EngineUnavailableException eu) {
            line = eu.getMessage();
        } else if (t instanceof NoSuchFileException nf) {
            line = nf.getFile() + (danglingLink(nf.getFile()) ? ": a symbolic link to nothing (its target is missing, or links loop)"
                    : ": no such file or directory");
        } else if (t instanceof FileAlreadyExistsException fe) {
            line = fe.getFile() + ": " + (fe.getReason() != null ? fe.getReason() : "already exists");
        } else if (t instanceof NotDirectoryException nd) {
            line = nd.getFile() + ": not a directory";
        } else if (t instanceof AccessDeniedException ad) {
            line = ad.getFile() + ": permission denied";
        } else if (t instanceof FileSystemException fs) {
            line = (fs.getFile() == null ? "" : fs.getFile() + ": ") + (fs.getReason() == null ? "file system error" : fs.getReason());
        } else if (t instanceof IOException io) {
            // the JDK names no file on a failed read or write (ENOSPC from a write, EIO): name what the command works on
            String output = option(parseResult, "--output-dir");
            String msg = String.valueOf(io.getMessage());
            if (output != null && (msg.contains("No space left") || msg.contains("quota")))
                line = output + ": " + msg + " while writing the output (nothing was published under its name)";
            else { // a read or a write: name both ends
                String in = inputs(parseResult);
                String both = output == null ? in : in.isEmpty() ? output + ": " : in.substring(0, in.length() - 2) + " → " + output + ": ";
                line = both + "I/O error: " + msg;
            }
        } else if (t instanceof NumberFormatException) { // the JDK's message ("For input string: …") is code-speak
            line = inputs(parseResult) + "a number in the input is not an integer or does not fit 64 bits";
        } else if (t instanceof IllegalArgumentException || t instanceof ArithmeticException) {
            // A value check that no reader turned into a FormatException: the values came from the input (option
            // checks raise picocli's ParameterException, a usage error that never gets here), so it is bad input,
            // named by the command's input path.
            line = inputs(parseResult) + (t instanceof ArithmeticException ? "sizes in the input overflow 64 bits" : t.getMessage());
        } else {
            // a bug: its message is the JDK's or ours about code, not about the input (a ClassCastException names
            // classes), so it is not shown; the input is named so that the report can say what triggered it
            line = inputs(parseResult) + "internal error (a bug: please report it with what CKPT_DEBUG=1 prints)";
            code = ExitCodes.INTERNAL;
        }
        cl.getErr().println("ckpt: " + capped(TerminalText.escape(line.lines().findFirst().orElse(""))));
        if (debug) t.printStackTrace(cl.getErr());
        return code;
    }

    /** The line for an Error that escaped every handler: what ran out, never the JDK's class name. */
    static String virtualMachineError(VirtualMachineError e) {
        String what = e instanceof OutOfMemoryError ? "out of memory" : e instanceof StackOverflowError ? "out of stack" : "the JVM failed";
        return "internal error: " + what + " (a bug: please report it with what CKPT_DEBUG=1 prints)";
    }

    /** Whether {@code file} is a link whose target does not resolve: "no such file" would hide that it is there. */
    static boolean danglingLink(String file) {
        try {
            java.nio.file.Path p = java.nio.file.Path.of(file);
            return java.nio.file.Files.isSymbolicLink(p) && !java.nio.file.Files.exists(p);
        } catch (RuntimeException e) { // an unparsable name: no link to speak of
            return false;
        }
    }

    /** Longest error line: a message that quoted too much of a hostile input is cut, not printed whole. */
    static final int MAX_LINE = 2000;

    static String capped(String line) {
        return line.length() <= MAX_LINE ? line : line.substring(0, MAX_LINE) + "… (" + line.length() + " characters)";
    }

    /** The subcommand's value of {@code name}, if given. */
    private static String option(CommandLine.ParseResult parseResult, String name) {
        CommandLine.ParseResult sub = parseResult;
        while (sub.subcommand() != null) sub = sub.subcommand();
        CommandLine.Model.OptionSpec o = sub.matchedOption(name);
        return o == null || o.getValue() == null ? null : o.getValue().toString();
    }

    /** "PATH: " (or "A, B: ") of the subcommand's positional inputs, to name what the error is about. */
    private static String inputs(CommandLine.ParseResult parseResult) {
        CommandLine.ParseResult sub = parseResult;
        while (sub.subcommand() != null) sub = sub.subcommand();
        java.util.List<String> paths = new java.util.ArrayList<>();
        for (CommandLine.Model.PositionalParamSpec p : sub.matchedPositionals()) {
            Object v = p.getValue();
            if (v instanceof java.nio.file.Path path) paths.add(path.toString());
        }
        return paths.isEmpty() ? "" : String.join(", ", paths) + ": ";
    }
}
