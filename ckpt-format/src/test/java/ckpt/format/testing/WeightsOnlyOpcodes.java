package ckpt.format.testing;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * An opcode scanner written from the pickle spec, independent of our reader: walks a pickle and fails on any opcode
 * outside the set {@code torch.load(weights_only=True)} accepts (FORMATS.md §1.8). Returns the GLOBALs it saw.
 */
public final class WeightsOnlyOpcodes {
    private WeightsOnlyOpcodes() {
    }

    public record Scan(int protocol, List<String> globals, int opcodes) {
    }

    public static Scan scan(byte[] p) {
        List<String> globals = new ArrayList<>();
        int protocol = -1, n = 0, i = 0;
        while (true) {
            if (i >= p.length) throw new AssertionError("pickle ends without STOP");
            int op = p[i++] & 0xFF;
            n++;
            switch (op) {
                case 0x80 -> protocol = p[i++] & 0xFF; // PROTO
                case '.' -> {
                    if (i != p.length) throw new AssertionError("bytes after STOP at " + i);
                    return new Scan(protocol, globals, n);
                }
                case '(', 'N', 0x88, 0x89, ')', 't', 0x85, 0x86, 0x87, ']', 'a', 'e', '}', 's', 'u', 0x8f, 'R', 0x81, 'b', 'Q' -> {
                }
                case 'J', 'j', 'r' -> i += 4;
                case 'K', 'h', 'q' -> i += 1;
                case 'M' -> i += 2;
                case 'G' -> i += 8;
                case 0x8a -> i += 1 + (p[i] & 0xFF); // LONG1
                case 'U' -> i += 1 + (p[i] & 0xFF); // SHORT_BINSTRING
                case 'X' -> { // BINUNICODE
                    long len = (p[i] & 0xFFL) | (p[i + 1] & 0xFFL) << 8 | (p[i + 2] & 0xFFL) << 16 | (p[i + 3] & 0xFFL) << 24;
                    i += 4 + (int) len;
                }
                case 'c' -> { // GLOBAL module\nname\n
                    int a = indexOf(p, i), b = indexOf(p, a + 1);
                    globals.add(new String(p, i, a - i, StandardCharsets.UTF_8) + "." + new String(p, a + 1, b - a - 1, StandardCharsets.UTF_8));
                    i = b + 1;
                }
                default -> throw new AssertionError(String.format("opcode 0x%02x at %d is not allowed by torch's weights-only unpickler", op, i - 1));
            }
        }
    }

    private static int indexOf(byte[] p, int from) {
        for (int i = from; i < p.length; i++) if (p[i] == '\n') return i;
        throw new AssertionError("unterminated GLOBAL");
    }
}
