package ckpt.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue #12 item 6: a value check that escaped every reader's typed error is bad input (exit 1) naming the
 * command's input, in one line — not a usage error (exit 2); usage errors are picocli's ParameterExceptions.
 */
class ErrorHandlerTest {
    @CommandLine.Command(name = "boom")
    static final class Boom implements Callable<Integer> {
        @CommandLine.Parameters(index = "0")
        Path path;

        @CommandLine.Option(names = "--what")
        String what = "iae";

        @CommandLine.Option(names = "--output-dir")
        Path outputDir;

        @Override
        public Integer call() throws Exception {
            throw switch (what) {
                case "overflow" -> new ArithmeticException("long overflow");
                case "enospc" -> new IOException("No space left on device");
                case "eio" -> new IOException("Input/output error");
                case "nofile" -> new java.nio.file.NoSuchFileException(path.toString());
                case "nfe" -> new NumberFormatException("For input string: \"99999999999999999999\"");
                case "cce" -> new ClassCastException("class ckpt.format.pickle.PyTuple cannot be cast to class java.lang.Long");
                default -> new IllegalArgumentException("Position + size overflow\nsecond line");
            };
        }
    }

    private static String[] run(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new Boom()).setExecutionExceptionHandler(new ErrorHandler());
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new String[]{String.valueOf(code), err.toString()};
    }

    @Test
    void illegalArgumentFromDataIsExitOneNamingTheInput() {
        String[] r = run("/data/ckpt/iter_0000004");
        assertThat(Integer.parseInt(r[0])).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r[1]).isEqualTo("ckpt: /data/ckpt/iter_0000004: Position + size overflow" + System.lineSeparator());
    }

    @Test
    void aNumberThatDoesNotParseIsSaidInWords() {
        String[] r = run("/data/ckpt", "--what", "nfe");
        assertThat(Integer.parseInt(r[0])).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r[1]).isEqualTo("ckpt: /data/ckpt: a number in the input is not an integer or does not fit 64 bits"
                + System.lineSeparator());
    }

    @Test
    void arithmeticOverflowIsExitOneInWordsNotJava() {
        String[] r = run("/data/x.pt", "--what", "overflow");
        assertThat(Integer.parseInt(r[0])).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r[1]).startsWith("ckpt: /data/x.pt: ").contains("overflow 64 bits").doesNotContain("long overflow");
    }

    /** The JDK's write errors name no file (found by filling a tmpfs under a reshard --part): the line names the output. */
    @Test
    void diskFullNamesTheOutputDir_otherIoErrorsTheInputs() {
        String[] r = run("/data/ckpt", "--output-dir", "/small/out", "--what", "enospc");
        assertThat(Integer.parseInt(r[0])).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r[1]).startsWith("ckpt: /small/out: No space left on device while writing the output").hasLineCount(1);
        r = run("/data/ckpt", "--output-dir", "/small/out", "--what", "eio");
        assertThat(r[1]).isEqualTo("ckpt: /data/ckpt → /small/out: I/O error: Input/output error" + System.lineSeparator());
        r = run("/data/ckpt", "--what", "eio");
        assertThat(r[1]).isEqualTo("ckpt: /data/ckpt: I/O error: Input/output error" + System.lineSeparator());
    }

    /** A bug's own message names Java classes (a ClassCastException's does): the line names the input, not them. */
    @Test
    void internalErrorNamesTheInputAndNoJavaClass() {
        String[] r = run("/data/ckpt", "--what", "cce");
        assertThat(Integer.parseInt(r[0])).isEqualTo(ExitCodes.INTERNAL);
        assertThat(r[1]).isEqualTo("ckpt: /data/ckpt: internal error (a bug: please report it with what CKPT_DEBUG=1 prints)"
                + System.lineSeparator());
        assertThat(ErrorHandler.virtualMachineError(new StackOverflowError())).isEqualTo(
                "internal error: out of stack (a bug: please report it with what CKPT_DEBUG=1 prints)");
        assertThat(ErrorHandler.capped("x".repeat(10_000))).hasSize(ErrorHandler.MAX_LINE + "… (10000 characters)".length());
    }

    /** A symlink loop or dangling link is there: "no such file" (what the JDK says) would send the user looking for nothing. */
    @Test
    void aDanglingOrLoopingLinkIsSaidSo(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        java.nio.file.Files.createSymbolicLink(tmp.resolve("a"), Path.of("b"));
        java.nio.file.Files.createSymbolicLink(tmp.resolve("b"), Path.of("a"));
        String[] r = run(tmp.resolve("a").toString(), "--what", "nofile");
        assertThat(r[1]).isEqualTo("ckpt: " + tmp.resolve("a") + ": a symbolic link to nothing (its target is missing, or links loop)"
                + System.lineSeparator());
        r = run(tmp.resolve("none").toString(), "--what", "nofile");
        assertThat(r[1]).isEqualTo("ckpt: " + tmp.resolve("none") + ": no such file or directory" + System.lineSeparator());
    }
}
