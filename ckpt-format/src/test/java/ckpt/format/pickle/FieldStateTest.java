package ckpt.format.pickle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.StringJoiner;
import org.junit.jupiter.api.Test;

/**
 * Record states read straight from the opcodes ({@link FieldState}) give what the generic reader gives — the same
 * fields, or the same error at the same offset — with the memo pruned by scan or by guess, on the plain shape and on
 * every way a stream can leave it: a value of a record read back later, a FRAME inside the state, duplicate keys,
 * one-item SETITEM, explicit PUTs, values it does not take, limits, truncation and corruption.
 */
class FieldStateTest {
    private static final Path FILE = Path.of("records.pkl");

    /** A record that says which way it was built and what its fields were, in one comparable string. */
    static final class Rec implements FieldBuildable {
        String fields;
        boolean fromFieldState;

        @Override
        public void build(Object state) {
            StringJoiner j = new StringJoiner(",");
            for (Map.Entry<Object, Object> e : ((PyDict) state).items().entrySet()) j.add(e.getKey() + "=" + show(e.getValue()));
            fields = j.toString();
        }

        @Override
        public boolean build(FieldState f) {
            // the names in first-seen order with the last value, as a dict keeps them
            List<String> names = new ArrayList<>();
            for (int i = 0; i < f.size(); i++) if (!names.contains(f.name(i))) names.add(f.name(i));
            StringJoiner j = new StringJoiner(",");
            for (String n : names) {
                int i = f.find(n);
                j.add(n + "=" + switch (f.kind(i)) {
                    case INT -> "Long:" + f.intValue(i);
                    case NONE -> "None";
                    case OBJECT -> show(f.object(i));
                    case SIZE -> {
                        long[] d = new long[f.rank(i)];
                        for (int a = 0; a < d.length; a++) d[a] = f.dim(i, a);
                        yield show(new TorchSize(d));
                    }
                });
            }
            if (j.toString().contains("reject")) return false; // a record may refuse a state
            fields = j.toString();
            fromFieldState = true;
            return true;
        }

        @Override
        public boolean consumesState() {
            return true;
        }

        private static String show(Object v) {
            if (v == null) return "None";
            if (v instanceof TorchSize s) return "Size" + Arrays.toString(s.dims());
            return v.getClass().getSimpleName() + ":" + v;
        }
    }

    /** Writes protocol-4 opcodes and counts MEMOIZE, so tests can refer back to memo indices. */
    static final class Out {
        final ByteArrayOutputStream b = new ByteArrayOutputStream();
        int memo;

        Out op(int... bytes) {
            for (int x : bytes) b.write(x);
            return this;
        }

        int memoize() {
            op(Opcodes.MEMOIZE);
            return memo++;
        }

        int str(String s) {
            byte[] u = s.getBytes(StandardCharsets.UTF_8);
            op(Opcodes.SHORT_BINUNICODE, u.length);
            b.writeBytes(u);
            return memoize();
        }

        Out get(int index) {
            return index < 256 ? op(Opcodes.BINGET, index) : op(Opcodes.LONG_BINGET, index & 0xFF, index >>> 8 & 0xFF, index >>> 16 & 0xFF, index >>> 24);
        }

        Out integer(long v) {
            if (v >= 0 && v < 256) return op(Opcodes.BININT1, (int) v);
            if (v >= 0 && v < 65536) return op(Opcodes.BININT2, (int) v & 0xFF, (int) v >>> 8);
            return op(Opcodes.BININT, (int) v & 0xFF, (int) (v >>> 8) & 0xFF, (int) (v >>> 16) & 0xFF, (int) (v >>> 24) & 0xFF);
        }

        int global(String module, String name) {
            str(module);
            str(name);
            op(Opcodes.STACK_GLOBAL);
            return memoize();
        }

        /** torch.Size((dims…)) with its three MEMOIZEs; answers the memo index of the Size. */
        int size(int sizeGlobal, long... dims) {
            get(sizeGlobal);
            if (dims.length > 3) op(Opcodes.MARK);
            for (long d : dims) integer(d);
            op(dims.length > 3 ? Opcodes.TUPLE : Opcodes.TUPLE1 + dims.length - 1);
            memoize();
            op(Opcodes.TUPLE1);
            memoize();
            op(Opcodes.REDUCE);
            return memoize();
        }

        byte[] bytes() {
            return b.toByteArray();
        }
    }

    /** Protocol 4 header, the two globals, and an open list the records are appended to. */
    private static Out start(int[] globals) {
        Out o = new Out();
        o.op(Opcodes.PROTO, 4);
        globals[0] = o.global("test", "Rec");
        globals[1] = o.global("torch", "Size");
        o.op(Opcodes.EMPTY_LIST);
        o.memoize();
        o.op(Opcodes.MARK);
        return o;
    }

    private static void recordHead(Out o, int rec) {
        o.get(rec).op(Opcodes.EMPTY_TUPLE, Opcodes.NEWOBJ);
        o.memoize();
        o.op(Opcodes.EMPTY_DICT);
        o.memoize();
    }

    private static byte[] finish(Out o) {
        return o.op(Opcodes.APPENDS, Opcodes.STOP).bytes();
    }

    private static PickleReader.Builder reader() {
        return PickleReader.builder().file(FILE).reducer("test", "Rec", args -> new Rec());
    }

    /** The records' fields, or the error; with the guess read falling back to the scan read as its caller does. */
    private static String outcome(byte[] data, String mode) {
        try {
            Object root = switch (mode) {
                case "plain" -> reader().build().read(data);
                case "scan" -> reader().memoOnlyWhatIsRead(true).build().read(data);
                case "guess" -> {
                    try {
                        yield reader().guessMemoReads(true).build().read(data);
                    } catch (PickleReader.GuessMissed e) {
                        yield reader().memoOnlyWhatIsRead(true).build().read(data);
                    }
                }
                default -> throw new IllegalArgumentException(mode);
            };
            if (!(root instanceof List<?> l)) return "root " + root;
            StringJoiner j = new StringJoiner(" | ");
            for (Object r : l) j.add(r instanceof Rec rec ? rec.fields : String.valueOf(r));
            return j.toString();
        } catch (PickleException e) {
            return "error: " + e.getMessage();
        }
    }

    private static long fast(byte[] data, String mode) {
        PickleReader.Builder b = mode.equals("scan") ? reader().memoOnlyWhatIsRead(true) : reader().guessMemoReads(true);
        return ((List<?>) b.build().read(data)).stream().filter(r -> r instanceof Rec rec && rec.fromFieldState).count();
    }

    private static void assertSameOutcome(byte[] data) {
        String plain = outcome(data, "plain");
        assertThat(outcome(data, "scan")).isEqualTo(plain);
        assertThat(outcome(data, "guess")).isEqualTo(plain);
    }

    /** Three records of the plain shape: ints, a Size, None, a string literal then its memo reference. */
    private static byte[] plainRecords() {
        int[] g = new int[2];
        Out o = start(g);
        int offsets = -1, path = -1;
        for (int r = 0; r < 3; r++) {
            recordHead(o, g[0]);
            o.op(Opcodes.MARK);
            if (r == 0) offsets = o.str("offsets");
            else o.get(offsets);
            o.size(g[1], r, 4096L * r, 70_000L + r);
            o.str("length");
            o.integer(123_456_789L * r);
            o.str("hint");
            o.op(Opcodes.NONE);
            o.str("path");
            if (r == 0) path = o.str("__0_0.distcp");
            else o.get(path);
            o.op(Opcodes.SETITEMS, Opcodes.BUILD);
        }
        return finish(o);
    }

    @Test
    void plainShapeIsReadAsFieldsAndEqualsTheGenericRead() {
        byte[] data = plainRecords();
        String plain = outcome(data, "plain");
        assertThat(plain).isEqualTo(
                "offsets=Size[0, 0, 70000],length=Long:0,hint=None,path=String:__0_0.distcp"
                        + " | offsets=Size[1, 4096, 70001],length=Long:123456789,hint=None,path=String:__0_0.distcp"
                        + " | offsets=Size[2, 8192, 70002],length=Long:246913578,hint=None,path=String:__0_0.distcp");
        assertSameOutcome(data);
        assertThat(fast(data, "guess")).isEqualTo(3);
        assertThat(fast(data, "scan")).isEqualTo(3);
        // without pruning the memo keeps every value, so the reader never skips one
        assertThat(((List<?>) reader().build().read(data)).stream().filter(r -> ((Rec) r).fromFieldState).count()).isZero();
    }

    @Test
    void aValueReadBackLaterMakesTheGuessFailAndTheScanReadItGenerically() {
        int[] g = new int[2];
        Out o = start(g);
        recordHead(o, g[0]);
        o.op(Opcodes.MARK);
        int key = o.str("offsets");
        int shared = o.size(g[1], 1, 2);
        o.op(Opcodes.SETITEMS, Opcodes.BUILD);
        recordHead(o, g[0]);
        o.op(Opcodes.MARK);
        o.get(key);
        o.get(shared); // the first record's Size, by memo: it must have been kept
        o.op(Opcodes.SETITEMS, Opcodes.BUILD);
        byte[] data = finish(o);

        assertThatThrownBy(() -> reader().guessMemoReads(true).build().read(data)).isInstanceOf(PickleReader.GuessMissed.class);
        assertSameOutcome(data);
        assertThat(outcome(data, "plain")).isEqualTo("offsets=Size[1, 2] | offsets=Size[1, 2]");
        assertThat(fast(data, "scan")).isEqualTo(1); // the second record takes a memo value: still a plain state
    }

    @Test
    void otherShapesAreReadGenericallyWithTheSameResult() {
        int[] g = new int[2];
        // a FRAME between two opcodes of a state; a duplicate key; one item with SETITEM; a list value; a refused state
        Out o = start(g);
        recordHead(o, g[0]);
        o.op(Opcodes.MARK);
        o.str("a");
        o.op(Opcodes.FRAME, 1, 0, 0, 0, 0, 0, 0, 0); // frames may cut anywhere between opcodes
        o.integer(1);
        o.op(Opcodes.SETITEMS, Opcodes.BUILD);
        recordHead(o, g[0]);
        o.op(Opcodes.MARK);
        int a = o.str("a");
        o.integer(1);
        o.get(a);
        o.integer(2);
        o.op(Opcodes.SETITEMS, Opcodes.BUILD);
        recordHead(o, g[0]);
        o.get(a);
        o.size(g[1], 5, 6, 7, 8, 9);
        o.op(Opcodes.SETITEM, Opcodes.BUILD);
        recordHead(o, g[0]);
        o.op(Opcodes.MARK);
        o.get(a);
        o.op(Opcodes.EMPTY_LIST);
        o.memoize();
        o.op(Opcodes.SETITEMS, Opcodes.BUILD);
        recordHead(o, g[0]);
        o.op(Opcodes.MARK);
        o.str("reject");
        o.integer(0);
        o.op(Opcodes.SETITEMS, Opcodes.BUILD);
        byte[] data = finish(o);

        assertThat(outcome(data, "plain")).isEqualTo("a=Long:1 | a=Long:2 | a=Size[5, 6, 7, 8, 9] | a=ArrayList:[] | reject=Long:0");
        assertSameOutcome(data);
        assertThat(fast(data, "guess")).isEqualTo(2); // the duplicate key and the SETITEM record
    }

    @Test
    void anExplicitPutStopsTheFastPathAndTheGuess() {
        int[] g = new int[2];
        Out o = start(g);
        o.op(Opcodes.NONE, Opcodes.BINPUT, 200, Opcodes.POP); // PUT 200: MEMOIZE indices may now repeat
        o.memo++; // CPython's memo has one more entry, so MEMOIZE counts on from there
        int key = o.str("x");
        for (int r = 0; r < 3; r++) {
            recordHead(o, g[0]);
            o.get(key);
            o.integer(r);
            o.op(Opcodes.SETITEM, Opcodes.BUILD);
        }
        byte[] data = finish(o);
        assertSameOutcome(data);
        // the guess gives up at the PUT (it would have to keep every entry); the scan read takes them generically
        assertThatThrownBy(() -> reader().guessMemoReads(true).build().read(data)).isInstanceOf(PickleReader.GuessMissed.class);
        assertThat(fast(data, "scan")).isZero();
    }

    @Test
    void limitsAreAsStrict() {
        byte[] data = plainRecords();
        for (long objects = 1; objects < 60; objects++) {
            PickleLimits limits = new PickleLimits(PickleLimits.DEFAULT.maxDepth(), PickleLimits.DEFAULT.maxMemoEntries(),
                    PickleLimits.DEFAULT.maxLength(), objects);
            assertThat(limited(data, limits, false)).isEqualTo(limited(data, limits, true));
        }
        for (int memo = 0; memo < 40; memo++) {
            PickleLimits limits = new PickleLimits(PickleLimits.DEFAULT.maxDepth(), memo, PickleLimits.DEFAULT.maxLength(),
                    PickleLimits.DEFAULT.maxTotalObjects());
            assertThat(limited(data, limits, false)).isEqualTo(limited(data, limits, true));
        }
    }

    @Test
    void aStringLengthLimitIsAsStrict() {
        // keys and string values inside a record state are strings too: one longer than maxLength fails the read
        byte[] data = plainRecords();
        for (long length = 0; length < 16; length++) {
            PickleLimits limits = new PickleLimits(PickleLimits.DEFAULT.maxDepth(), PickleLimits.DEFAULT.maxMemoEntries(),
                    length, PickleLimits.DEFAULT.maxTotalObjects());
            assertThat(limited(data, limits, true)).as("maxLength " + length).isEqualTo(limited(data, limits, false));
        }
    }

    private static String limited(byte[] data, PickleLimits limits, boolean guess) {
        try {
            PickleReader.Builder b = reader().limits(limits);
            return String.valueOf(guess ? b.guessMemoReads(true).build().read(data) instanceof List<?> l ? l.size() : -1
                    : b.build().read(data) instanceof List<?> l2 ? l2.size() : -1);
        } catch (PickleException e) {
            return "error: " + e.getMessage();
        } catch (PickleReader.GuessMissed e) {
            return limited(data, limits, false);
        }
    }

    @Test
    void truncatedAndCorruptedStreams() {
        byte[] original = plainRecords();
        for (int n = 0; n < original.length; n++) assertSameOutcome(Arrays.copyOf(original, n));
        Random rnd = new Random(11);
        for (int i = 0; i < 3000; i++) {
            byte[] d = original.clone();
            for (int k = 0, n = 1 + rnd.nextInt(3); k < n; k++) d[rnd.nextInt(d.length)] = (byte) rnd.nextInt(256);
            assertSameOutcome(d);
        }
    }
}
