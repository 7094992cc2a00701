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
 * Bad input (a {@link FormatException}, an I/O error) is exit 1. Usage errors (exit 2) never get here: picocli
 * reports its parse errors itself, and commands turn bad option values into {@link CommandLine.ParameterException}.
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
            line = nf.getFile() + ": no such file or directory";
        } else if (t instanceof FileAlreadyExistsException fe) {
            line = fe.getFile() + ": " + (fe.getReason() != null ? fe.getReason() : "already exists");
        } else if (t instanceof NotDirectoryException nd) {
            line = nd.getFile() + ": not a directory";
        } else if (t instanceof AccessDeniedException ad) {
            line = ad.getFile() + ": permission denied";
        } else if (t instanceof FileSystemException fs) {
            line = (fs.getFile() == null ? "" : fs.getFile() + ": ") + (fs.getReason() == null ? "file system error" : fs.getReason());
        } else if (t instanceof IOException io) {
            line = "I/O error: " + io.getMessage();
        } else if (t instanceof IllegalArgumentException ia) {
            // option values checked inside a command (diff, memory); data checks raise FormatException instead
            line = ia.getMessage();
            code = ExitCodes.USAGE;
        } else {
            line = "internal error (a bug; CKPT_DEBUG=1 shows where): " + t.getMessage();
            code = ExitCodes.INTERNAL;
        }
        cl.getErr().println("ckpt: " + TerminalText.escape(line));
        if (debug) t.printStackTrace(cl.getErr());
        return code;
    }
}
