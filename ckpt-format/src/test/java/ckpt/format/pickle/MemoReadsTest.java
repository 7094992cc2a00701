package ckpt.format.pickle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ckpt.format.testing.Fixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link PickleReader.Builder#memoOnlyWhatIsRead}: keeping only the memo entries a pickle reads back changes nothing
 * a caller can see — the same value graph, or the same error at the same offset — on real, truncated and corrupted
 * pickles and on memo tricks (far indices, PUT over MEMOIZE), and the memo limit is as strict.
 */
class MemoReadsTest {
    private static final Path FILE = Path.of("memo.pkl");

    /** Class and scalar value of every node in walk order: equal graphs give equal lists. */
    private static List<String> shape(Object root) {
        List<String> out = new ArrayList<>();
        PickleGraph.walk(root, v -> out.add(v.getClass().getSimpleName()
                + (v instanceof String || v instanceof Number || v instanceof Boolean ? "=" + v : "")));
        return out;
    }

    private static String outcome(PickleReader r, byte[] data) {
        try {
            return String.join(",", shape(r.read(data)));
        } catch (PickleException e) {
            return "error: " + e.getMessage();
        }
    }

    private static void assertSameOutcome(Path file, byte[] data) {
        PickleReader plain = PickleReader.builder().file(file).build();
        PickleReader pruned = PickleReader.builder().file(file).memoOnlyWhatIsRead(true).build();
        assertThat(outcome(pruned, data)).isEqualTo(outcome(plain, data));
    }

    @Test
    void realMetadataTruncatedAndCorrupted() {
        Path file = Fixtures.root().resolve("dcp-variety/checkpoint/.metadata");
        byte[] original = Fixtures.bytes(file);
        assertSameOutcome(file, original);
        for (int n = 0; n < original.length; n += 7) assertSameOutcome(file, Arrays.copyOf(original, n));
        Random rnd = new Random(7);
        for (int i = 0; i < 1500; i++) {
            byte[] d = original.clone();
            for (int k = 0, n = 1 + rnd.nextInt(4); k < n; k++) d[rnd.nextInt(d.length)] = (byte) rnd.nextInt(256);
            assertSameOutcome(file, d);
        }
    }

    @Test
    void memoTricks() {
        // PUT 5 then MEMOIZE ×6: CPython's memo is a dict, so MEMOIZE writes at len(memo) and overwrites index 5
        byte[] putThenMemoize = {(byte) 0x80, 4, 'N', 'q', 5, (byte) 0x94, 'K', 1, (byte) 0x94, 'K', 2, (byte) 0x94, 'K', 3,
                (byte) 0x94, 'K', 4, (byte) 0x94, 'K', 9, (byte) 0x94, 'h', 5, 'h', 1, (byte) 0x86, '.'};
        assertSameOutcome(FILE, putThenMemoize);
        // far index, read back; and a GET of an index only ever written after it
        assertSameOutcome(FILE, new byte[] {(byte) 0x80, 2, 'N', 'r', 0x40, 0x42, 0x0F, 0, 'j', 0x40, 0x42, 0x0F, 0, '.'});
        assertSameOutcome(FILE, new byte[] {(byte) 0x80, 2, 'h', 3, 'N', 'q', 3, '.'});
        // text PUT/GET with a spelling the scan leaves to the reader
        assertSameOutcome(FILE, "(N p+1\ng+1\nt.".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        assertSameOutcome(FILE, "(N p1\ng1\nt.".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    }

    @Test
    void memoLimitIsAsStrict() {
        PickleReader r = PickleReader.builder().file(FILE).memoOnlyWhatIsRead(true)
                .limits(new PickleLimits(100, 4, 1000, 1000)).build();
        assertThatThrownBy(() -> r.read(new byte[] {(byte) 0x80, 2, 'N', 'r', 4, 0, 0, 0, '.'}))
                .isInstanceOf(PickleException.class).hasMessageContaining("memo index 4 exceeds the limit of 4");
        assertThatThrownBy(() -> r.read(new byte[] {(byte) 0x80, 4, 'N', (byte) 0x94, 'N', (byte) 0x94, 'N', (byte) 0x94,
                'N', (byte) 0x94, 'N', (byte) 0x94, '.'})).isInstanceOf(PickleException.class).hasMessageContaining("limit of 4");
    }
}
