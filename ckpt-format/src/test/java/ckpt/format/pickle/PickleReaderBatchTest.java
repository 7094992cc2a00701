package ckpt.format.pickle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The reader runs its opcodes in batches of a few dozen per call (so the JIT compiles an ordinary method): the value,
 * the end offset and the offsets in errors must not depend on where a batch ends, so every count of opcodes across
 * several batch lengths is read here, one pickle alone and two back to back.
 */
class PickleReaderBatchTest {
    private static final Path FILE = Path.of("batch.pkl");

    /** PROTO 2, EMPTY_LIST, then n × (BININT1 i, APPEND), STOP: 3 + 2n opcodes; the list [0, …, n-1]. */
    private static byte[] listOf(int n, boolean stop) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x80);
        out.write(2);
        out.write(']');
        for (int i = 0; i < n; i++) {
            out.write('K');
            out.write(i & 0xFF);
            out.write('a');
        }
        if (stop) out.write('.');
        return out.toByteArray();
    }

    private static List<Long> expected(int n) {
        List<Long> l = new ArrayList<>();
        for (int i = 0; i < n; i++) l.add((long) (i & 0xFF));
        return l;
    }

    @Test
    void everyOpcodeCountReadsTheSameValueAndEnd() {
        for (int n = 0; n <= 200; n++) {
            byte[] one = listOf(n, true);
            PickleReader r = PickleReader.builder().file(FILE).build();
            assertEquals(expected(n), r.read(one), "n=" + n);
            // two pickles back to back, as a legacy torch.save file has them: each ends where its STOP is
            byte[] second = listOf(n / 2 + 1, true);
            byte[] both = new byte[one.length + second.length];
            System.arraycopy(one, 0, both, 0, one.length);
            System.arraycopy(second, 0, both, one.length, second.length);
            PickleReader.Result first = r.readAt(MemorySegment.ofArray(both), 0);
            assertEquals(one.length, first.end(), "n=" + n);
            PickleReader.Result next = r.readAt(MemorySegment.ofArray(both), first.end());
            assertEquals(expected(n / 2 + 1), next.value(), "n=" + n);
            assertEquals(both.length, next.end(), "n=" + n);
        }
    }

    @Test
    void aTruncatedPickleFailsAtItsEndWhateverTheBatch() {
        for (int n = 0; n <= 100; n++) {
            byte[] cut = listOf(n, false);
            PickleException e = assertThrows(PickleException.class, () -> PickleReader.builder().file(FILE).build().read(cut));
            assertEquals(cut.length, e.offset(), "n=" + n);
            assertTrue(e.getMessage().contains("truncated pickle"), e.getMessage());
        }
    }

    /** An error in the middle of a later batch names the opcode's own offset. */
    @Test
    void anErrorNamesItsOpcodeOffsetInALaterBatch() {
        for (int n = 1; n <= 100; n++) {
            byte[] ok = listOf(n, false);
            byte[] bad = java.util.Arrays.copyOf(ok, ok.length + 2);
            bad[ok.length] = 'a'; // APPEND with nothing to append: the list itself is popped, then nothing is below
            bad[ok.length + 1] = '.';
            PickleException e = assertThrows(PickleException.class, () -> PickleReader.builder().file(FILE).build().read(bad));
            assertEquals(ok.length, e.offset(), "n=" + n + ": " + e.getMessage());
        }
    }
}
