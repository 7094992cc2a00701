package ckpt.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

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

        @Override
        public Integer call() {
            throw switch (what) {
                case "overflow" -> new ArithmeticException("long overflow");
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
    void arithmeticOverflowIsExitOneInWordsNotJava() {
        String[] r = run("/data/x.pt", "--what", "overflow");
        assertThat(Integer.parseInt(r[0])).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r[1]).startsWith("ckpt: /data/x.pt: ").contains("overflow 64 bits").doesNotContain("long overflow");
    }
}
