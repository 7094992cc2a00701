package ckpt.cli;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

/** Control characters are escaped wherever they fall in what is written, and everything else passes unchanged. */
class TerminalTextTest {
    private static final String RAW = "\u001b[2Jmodel.\u0007\u0007x\ty\u009b\u2028é中\n\u007f";
    private static final String SAFE = "\\u001b[2Jmodel.\\u0007\\u0007x\ty\\u009b\\u2028é中\n\\u007f";

    @Test
    void stringsAreEscapedAtEveryPosition() {
        StringWriter sink = new StringWriter();
        PrintWriter out = TerminalText.safe(new PrintWriter(sink));
        out.print(RAW);
        out.write(RAW, 2, RAW.length() - 3);
        out.flush();
        assertThat(sink.toString()).isEqualTo(SAFE + SAFE.substring(7, SAFE.length() - 6));
    }

    @Test
    void charArraysAreEscapedAtEveryPosition() {
        StringWriter sink = new StringWriter();
        PrintWriter out = TerminalText.safe(new PrintWriter(sink));
        char[] chars = ("ab" + RAW + "cd").toCharArray();
        out.write(chars, 2, RAW.length());
        out.write(chars, 0, 0);
        out.write('\u0007');
        out.write('z');
        out.flush();
        assertThat(sink.toString()).isEqualTo(SAFE + "\\u0007z");
    }

    @Test
    void cleanTextPassesUnchanged() {
        StringWriter sink = new StringWriter();
        PrintWriter out = TerminalText.safe(new PrintWriter(sink));
        out.print("{\"key\": \"decoder.layers.self_attention\",\t\"bytes\": 12}");
        out.flush();
        assertThat(sink.toString()).isEqualTo("{\"key\": \"decoder.layers.self_attention\",\t\"bytes\": 12}");
    }
}
