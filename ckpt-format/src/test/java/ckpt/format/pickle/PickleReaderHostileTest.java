package ckpt.format.pickle;

import ckpt.format.testing.Fixtures;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Hostile and broken pickles: inert objects, or one-line PickleExceptions naming file, offset and opcode. */
class PickleReaderHostileTest {
    private static final Path FILE = Path.of("hostile.pkl");

    /** Builds a pickle byte by byte; strings are written as given. */
    private static final class P {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        P op(int... bytes) {
            for (int b : bytes) out.write(b);
            return this;
        }

        P text(String s) {
            out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            return this;
        }

        P u32(long v) {
            for (int i = 0; i < 4; i++) out.write((int) (v >>> (8 * i)));
            return this;
        }

        P u64(long v) {
            for (int i = 0; i < 8; i++) out.write((int) (v >>> (8 * i)));
            return this;
        }

        P repeat(int b, int n) {
            byte[] a = new byte[n];
            Arrays.fill(a, (byte) b);
            out.writeBytes(a);
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    private static P proto2() {
        return new P().op(0x80, 2);
    }

    private static Object read(byte[] data) {
        return PickleReader.builder().file(FILE).build().read(data);
    }

    private static PickleException fails(byte[] data) {
        PickleException e = catchThrowableOfType(PickleException.class, () -> read(data));
        assertThat(e).as("expected a PickleException").isNotNull();
        assertThat(e.getMessage()).doesNotContain("\n").contains("hostile.pkl").contains("at byte " + e.offset());
        assertUserTerms(e);
        return e;
    }

    /** What is wrong comes first in a user's words; a pickle opcode only as a detail in parentheses. */
    static void assertUserTerms(PickleException e) {
        assertThat(e.detail()).matches("(?s)(corrupt pickle|truncated pickle|truncated or corrupt pickle|pickle exceeds ckpt's limits"
                + "|unsupported pickle feature)\\b.*").doesNotMatch("(?s).*[A-Z_]{3,} \\(0x.*").doesNotContain("unknown opcode");
    }

    @Test
    void osSystemStaysInert() {
        byte[] data = proto2().op('c').text("os\nsystem\n").op('X').u32(9).text("rm -rf /x").op(0x85, 'R', '.').bytes();
        PyObject o = (PyObject) read(data);
        assertThat(o.is("os", "system")).isTrue();
        assertThat(o.origin()).isEqualTo(PyObject.Origin.REDUCE);
        assertThat(o.args().items()).containsExactly("rm -rf /x");
    }

    @Test
    void evalStaysInertEvenUnderItsPython2Name() {
        byte[] data = proto2().op('c').text("__builtin__\neval\n").op('X').u32(8).text("1+1==2()").op(0x85, 'R', '.').bytes();
        PyObject o = (PyObject) read(data);
        assertThat(o.is("builtins", "eval")).isTrue();
        assertThat(o.args().get(0)).isEqualTo("1+1==2()");
    }

    @Test
    void millionNestedMarksHitTheDepthLimit() {
        PickleException e = fails(proto2().repeat('(', 1_000_000).op('.').bytes());
        assertThat(e.getMessage()).contains("(pickle opcode MARK)").contains("limit");
        assertThat(e.offset()).isEqualTo(2 + PickleLimits.DEFAULT.maxDepth());
    }

    @Test
    void millionNestedListsHitTheDepthLimit() {
        PickleException e = fails(proto2().repeat(']', 1_000_000).repeat('a', 999_999).op('.').bytes());
        assertThat(e.getMessage()).contains("(pickle opcode EMPTY_LIST)").contains("limit");
    }

    @Test
    void smallerLimitsAreHonoured() {
        PickleReader r = PickleReader.builder().file(FILE).limits(new PickleLimits(10, 4, 3, 100)).build();
        assertThatThrownBy(() -> r.read(proto2().repeat(']', 11).bytes())).isInstanceOf(PickleException.class).hasMessageContaining("limit of 10");
        assertThatThrownBy(() -> r.read(proto2().op('N', 'r').u32(4).op('.').bytes())).isInstanceOf(PickleException.class).hasMessageContaining("memo index 4");
        assertThatThrownBy(() -> r.read(proto2().op('X').u32(4).text("abcd.").bytes())).isInstanceOf(PickleException.class).hasMessageContaining("limit of 3");
        assertThatThrownBy(() -> r.read(proto2().text("N0".repeat(101)).bytes())).isInstanceOf(PickleException.class).hasMessageContaining("more than 100 values");
    }

    @Test
    void deeplyNestedTupleIsReadButRefusedAsADictKey() {
        // TUPLE1 a million times keeps the stack at one entry; the graph is deep, which only hashing would notice.
        byte[] chain = proto2().op('N').repeat(0x85, 1_000_000).op('.').bytes();
        assertThat(read(chain)).isInstanceOf(PyTuple.class);
        byte[] asKey = proto2().op('}', 'N').repeat(0x85, 1_000_000).op('N', 's', '.').bytes();
        assertThat(fails(asKey).getMessage()).contains("(pickle opcode SETITEM)").contains("nested deeper");
    }

    @Test
    void unhashableKeyIsRefused() {
        assertThat(fails(proto2().op('}', ']', 'N', 's', '.').bytes()).getMessage()).contains("unhashable");
    }

    @ParameterizedTest
    @ValueSource(ints = {0x8D, 0x8E, 0x96}) // BINUNICODE8, BINBYTES8, BYTEARRAY8
    void hugeEightByteLengthsAreRefusedBeforeAllocating(int op) {
        PickleException e = fails(new P().op(0x80, 5, op).u64(1L << 40).text("abc").op('.').bytes());
        assertThat(e.getMessage()).contains("length 1099511627776 exceeds the 4 bytes left");
        assertThat(e.offset()).isEqualTo(2);
        assertThat(fails(new P().op(0x80, 5, op).u64(-1L).op('.').bytes()).getMessage()).contains("18446744073709551615");
    }

    @Test
    void hugeFourByteLengthsAreRefused() {
        assertThat(fails(proto2().op('X').u32(0xFFFF_FFFFL).text("x.").bytes()).getMessage()).contains("(pickle opcode BINUNICODE)").contains("4294967295");
        assertThat(fails(new P().op(0x80, 3, 'B').u32(0x7FFF_FFFFL).op('.').bytes()).getMessage()).contains("(pickle opcode BINBYTES)");
        assertThat(fails(proto2().op(0x8B).u32(0x7FFF_FFFFL).op('.').bytes()).getMessage()).contains("(pickle opcode LONG4)");
        assertThat(fails(proto2().op(0x8B).u32(0xFFFF_FFFFL).op('.').bytes()).getMessage()).contains("(pickle opcode LONG4)").contains("-1");
    }

    @Test
    void memoGetOfAMissingKey() {
        PickleException e = fails(proto2().op('N', 'q', 0, 'h', 1, '.').bytes());
        assertThat(e.getMessage()).contains("(pickle opcode BINGET)").contains("no entry 1");
        assertThat(e.offset()).isEqualTo(5);
        assertThat(fails(proto2().op('j').u32(123456).op('.').bytes()).getMessage()).contains("(pickle opcode LONG_BINGET)");
        assertThat(fails(new P().op('g').text("7\n.").bytes()).getMessage()).contains("(pickle opcode GET)");
    }

    @Test
    void farMemoIndexDoesNotAllocateTheGap() {
        byte[] data = proto2().op('N', 'r').u32(49_000_000).op('0', 'j').u32(49_000_000).op('.').bytes();
        assertThat(read(data)).isNull();
        assertThat(fails(proto2().op('N', 'r').u32(0xFFFF_FFFFL).op('.').bytes()).getMessage()).contains("(pickle opcode LONG_BINPUT)");
    }

    @Test
    void unknownOpcode() {
        PickleException e = fails(proto2().op('N', 0xFF, '.').bytes());
        assertThat(e.getMessage()).contains(": corrupt pickle: a byte that is not a pickle instruction").contains("(byte 0xff)");
        assertThat(e.offset()).isEqualTo(3);
    }

    @ParameterizedTest
    @ValueSource(ints = {0x82, 0x83, 0x84, 0x97, 0x98, 'P'})
    void refusedOpcodes(int op) {
        PickleException e = fails(new P().op(0x80, 5, 'N', op, 1, 0, 0, 0, '\n', '.').bytes());
        assertThat(e.offset()).isEqualTo(3);
        assertThat(e.getMessage()).contains("unsupported pickle feature").containsPattern("\\(pickle opcode [A-Z0-9_]+\\)");
    }

    @Test
    void persistentIdWithoutALoader() {
        assertThat(fails(proto2().op('N', 'Q', '.').bytes()).getMessage()).contains("(pickle opcode BINPERSID)").contains("persistent id None) where none is expected");
    }

    @Test
    void stopWithAnEmptyStack() {
        PickleException e = fails(proto2().op('.').bytes());
        assertThat(e.getMessage()).contains("(pickle opcode STOP)").contains("empty");
        assertThat(e.offset()).isEqualTo(2);
    }

    @Test
    void markMismatches() {
        assertThat(fails(proto2().op('N', 't', '.').bytes()).getMessage()).contains("(pickle opcode TUPLE)").contains("no MARK");
        assertThat(fails(proto2().op('N', 'e', '.').bytes()).getMessage()).contains("(pickle opcode APPENDS)").contains("no MARK");
        // APPENDS whose list would have to come from inside the mark
        assertThat(fails(proto2().op('(', ']', '(', 'N', 'e', 'e', '.').bytes()).getMessage()).contains("APPENDS");
        // popping below an open MARK is an underflow, as in CPython
        assertThat(fails(proto2().op('N', '(', 'N', 0x86, '.').bytes()).getMessage()).contains("(pickle opcode TUPLE2)");
        assertThat(fails(proto2().op('N', '(', 'a', '.').bytes()).getMessage()).contains("(pickle opcode APPEND)").contains("underflow");
        assertThat(fails(proto2().op('(', 'N', 'N', 'N', 'd', '.').bytes()).getMessage()).contains("odd number");
    }

    @Test
    void typeConfusion() {
        assertThat(fails(proto2().op('K', 1, 'N', 'a', '.').bytes()).getMessage()).contains("cannot append to a int");
        assertThat(fails(proto2().op(']', 'N', 'N', 's', '.').bytes()).getMessage()).contains("cannot set an item on a list");
        assertThat(fails(proto2().op(']', '}', 'b', '.').bytes()).getMessage()).contains("cannot BUILD a list");
        assertThat(fails(proto2().op('K', 1, ')', 'R', '.').bytes()).getMessage()).contains("calls a int, not a class or function");
        assertThat(fails(proto2().op('c').text("torch\nSize\n").op('K', 1, 0x85, 'R', '.').bytes()).getMessage())
                .contains("(pickle opcode REDUCE)").contains("cannot rebuild torch.Size");
        assertThat(fails(new P().op(0x80, 4, 'K', 1, 'N', 0x93, '.').bytes()).getMessage()).contains("STACK_GLOBAL");
        assertThat(fails(new P().op(0x80, 9, 'N', '.').bytes()).getMessage()).contains("unsupported pickle feature: protocol 9 (ckpt reads protocols up to 5)");
    }

    @Test
    void truncatedTextOpcodes() {
        assertThat(fails(new P().op('c').text("os\nsys").bytes()).getMessage()).contains("(pickle opcode GLOBAL)").contains("newline");
        assertThat(fails(new P().op('I').text("12x\n.").bytes()).getMessage()).contains("(pickle opcode INT)");
        assertThat(fails(new P().op('L').text("9".repeat(5000) + "L\n.").bytes()).getMessage()).contains("(pickle opcode LONG)");
        assertThat(fails(new P().op('S').text("'abc\n.").bytes()).getMessage()).contains("(pickle opcode STRING)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dcp-variety/checkpoint/.metadata", "megatron-qwen3-tp2/checkpoint/iter_0000004/.metadata"})
    void truncationAtEveryOffsetOfARealMetadata(String rel) {
        Path file = Fixtures.root().resolve(rel);
        MemorySegment full = MemorySegment.ofArray(Fixtures.bytes(file));
        PickleReader reader = PickleReader.builder().file(file).build();
        assertThat(reader.read(full)).isInstanceOf(PyObject.class);
        for (long n = 0; n < full.byteSize(); n++) {
            MemorySegment prefix = full.asSlice(0, n);
            long len = n;
            PickleException e = catchThrowableOfType(PickleException.class, () -> reader.read(prefix));
            assertThat(e).as("prefix of %d bytes", len).isNotNull();
            assertThat(e.offset()).isBetween(0L, n);
            assertThat(e.getMessage()).contains(file.toString()).doesNotContain("\n");
            assertThat(e.detail()).as("prefix of %d bytes", len).startsWith("truncated");
            assertUserTerms(e);
        }
    }

    @Test
    void randomCorruptionEndsInAValueOrAPickleException() {
        Path file = Fixtures.root().resolve("dcp-variety/checkpoint/.metadata");
        byte[] original = Fixtures.bytes(file);
        PickleReader reader = PickleReader.builder().file(file).build();
        Random rnd = new Random(42);
        for (int i = 0; i < 3000; i++) {
            byte[] d = original.clone();
            for (int k = 0, n = 1 + rnd.nextInt(4); k < n; k++) d[rnd.nextInt(d.length)] = (byte) rnd.nextInt(256);
            try {
                reader.read(d);
            } catch (PickleException expected) {
                assertThat(expected.getMessage()).doesNotContain("\n");
                assertUserTerms(expected);
            }
        }
    }

    @Test
    void readAtOutsideTheData() {
        PickleReader r = PickleReader.builder().file(FILE).build();
        MemorySegment seg = MemorySegment.ofArray(new byte[] {'N', '.'});
        assertThat(r.readAt(seg, 0)).isEqualTo(new PickleReader.Result(null, 2));
        assertThatThrownBy(() -> r.readAt(seg, 3)).isInstanceOf(PickleException.class);
        assertThatThrownBy(() -> r.readAt(seg, 2)).isInstanceOf(PickleException.class).hasMessageContaining("truncated");
    }

    @Test
    void persistentLoaderFailureIsAPickleException() {
        PickleReader r = PickleReader.builder().file(FILE).persistentLoader(pid -> { throw new IllegalStateException("no such storage"); }).build();
        assertThatThrownBy(() -> r.read(proto2().op('N', 'Q', '.').bytes()))
                .isInstanceOf(PickleException.class).hasMessageContaining("no such storage").hasMessageContaining("BINPERSID");
    }
}
