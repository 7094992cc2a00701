package ckpt.cli;

import ckpt.format.FormatException;
import picocli.CommandLine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/** Turns exceptions into one line on stderr and an exit code; a stack trace only with CKPT_DEBUG=1. */
final class ErrorHandler implements CommandLine.IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parseResult) {
        Throwable t = ex instanceof UncheckedIOException u ? u.getCause() : ex;
        boolean debug = "1".equals(System.getenv("CKPT_DEBUG"));
        String line;
        int code;
        if (t instanceof FormatException fe) {
            line = fe.getMessage();
            code = ExitCodes.PROBLEMS;
        } else if (t instanceof NoSuchFileException nf) {
            line = nf.getFile() + ": no such file or directory";
            code = ExitCodes.PROBLEMS;
        } else if (t instanceof java.nio.file.FileAlreadyExistsException fe) {
            line = fe.getFile() + ": " + (fe.getReason() != null ? fe.getReason() : "already exists");
            code = ExitCodes.PROBLEMS;
        } else if (t instanceof NotDirectoryException nd) {
            line = nd.getFile() + ": not a directory";
            code = ExitCodes.PROBLEMS;
        } else if (t instanceof IOException io) {
            line = io.getClass().getSimpleName() + ": " + io.getMessage();
            code = ExitCodes.PROBLEMS;
        } else if (t instanceof IllegalArgumentException ia) {
            line = ia.getMessage();
            code = ExitCodes.USAGE;
        } else {
            line = "internal error: " + t;
            code = ExitCodes.INTERNAL;
        }
        cl.getErr().println("ckpt: " + line);
        if (debug || code == ExitCodes.INTERNAL) t.printStackTrace(cl.getErr());
        return code;
    }
}
