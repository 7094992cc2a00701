package ckpt.format.pickle;

import ckpt.format.testing.Fixtures;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ckpt.format.tensor.DType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PickleWriterTest {

    private static byte[] pickle(Consumer<PickleWriter> body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PickleWriter w = new PickleWriter(out);
        w.proto();
        body.accept(w);
        w.stop();
        return out.toByteArray();
    }

    private static byte[] pickle(Object value) {
        return pickle(w -> w.write(value));
    }

    private static Object read(byte[] data) {
        return PickleReader.builder().build().read(data);
    }

    @Test
    void smallDictIsByteIdenticalToCPython() {
        // pickle.dumps({'a': 1}, protocol=2): PROTO 2, EMPTY_DICT, BINPUT 0, BINUNICODE 'a', BINPUT 1, BININT1 1,
        // SETITEM (a batch of one), STOP
        assertThat(HexFormat.of().formatHex(pickle(Map.of("a", 1L)))).isEqualTo("80027d71005801000000617101" + "4b01" + "73" + "2e");
    }

    @Test
    void scalarsAsCPythonEncodesThem() {
        HexFormat hex = HexFormat.of();
        assertThat(hex.formatHex(pickle((Object) null))).isEqualTo("80024e2e");
        assertThat(hex.formatHex(pickle(true))).isEqualTo("8002882e");
        assertThat(hex.formatHex(pickle(255L))).isEqualTo("80024bff2e");
        assertThat(hex.formatHex(pickle(256))).isEqualTo("80024d00012e");
        assertThat(hex.formatHex(pickle(-1L))).isEqualTo("80024affffffff2e");
        assertThat(hex.formatHex(pickle(1L << 40))).isEqualTo("80028a06000000000001" + "2e"); // LONG1, 6 bytes
        assertThat(hex.formatHex(pickle(-(1L << 31) - 1))).isEqualTo("80028a05ffffff7fff" + "2e");
        assertThat(hex.formatHex(pickle(BigInteger.valueOf(255).shiftLeft(64)))).isEqualTo("80028a0a0000000000000000ff00" + "2e");
        assertThat(hex.formatHex(pickle(1.5))).isEqualTo("8002473ff8000000000000" + "2e"); // BINFLOAT big-endian
        assertThat(hex.formatHex(pickle(PyTuple.EMPTY))).isEqualTo("8002292e");
        assertThat(hex.formatHex(pickle(DType.BFLOAT16))).isEqualTo("800263" + hex.formatHex("torch\nbfloat16\n".getBytes()) + "71002e");
    }

    @Test
    void tensorRecordFromLowLevelCallsMatchesTorchSave() throws IOException {
        // zip_single_tensor.pt holds torch.save(torch.linspace(-1, 1, 7)): rebuild its data.pkl by hand (§2.9)
        byte[] expected = dataPkl(Fixtures.root().resolve("torch-save/files/zip_single_tensor.pt"));
        byte[] actual = pickle(w -> {
            w.global_("torch._utils", "_rebuild_tensor_v2");
            w.mark();
            w.mark();
            w.write("storage");
            w.global_("torch", "FloatStorage");
            w.write("0");
            w.write("cpu");
            w.write(7L);
            w.tuple();
            w.put();
            w.binPersId();
            w.write(0L);
            w.write(PyTuple.of(7L));
            w.write(PyTuple.of(1L));
            w.newFalse();
            w.global_("collections", "OrderedDict");
            w.emptyTuple();
            w.reduce();
            w.put();
            w.tuple();
            w.put();
            w.reduce();
            w.put();
        });
        assertThat(actual).isEqualTo(expected);
    }

    /** A persistent id as the reader saw it, written back as the same tuple + BINPERSID. */
    record Pid(PyTuple pid) {}

    @ParameterizedTest
    @ValueSource(strings = {"zip_nested.pt", "zip_dtypes.pt", "zip_module_state.pt", "zip_single_tensor.pt"})
    void torchSaveDataPklRoundTripsByteForByte(String name) throws IOException {
        byte[] original = dataPkl(Fixtures.root().resolve("torch-save/files").resolve(name));
        Object value = PickleReader.builder().persistentLoader(pid -> new Pid((PyTuple) pid)).build().read(original);
        byte[] rewritten = pickle(w -> {
            w.objectWriter((writer, v) -> {
                if (!(v instanceof Pid p)) return false;
                writer.write(p.pid());
                writer.binPersId();
                return true;
            });
            w.write(value);
        });
        assertThat(HexFormat.of().formatHex(rewritten)).isEqualTo(HexFormat.of().formatHex(original));
    }

    @Test
    void onlyOpcodesTheWeightsOnlyUnpicklerAccepts() {
        PyDict od = new PyDict(new PyGlobal("collections", "OrderedDict"));
        od.put("x", 1.0);
        od.setAttributes(new PyDict());
        PySet set = new PySet(false);
        set.items().addAll(List.of(1L, 2L));
        List<Object> big = new ArrayList<>();
        for (int i = 0; i < 2500; i++) big.add("s" + (i % 300));
        Map<Object, Object> m = new LinkedHashMap<>();
        m.put("od", od);
        m.put("set", set);
        m.put("big", big);
        m.put("bytes", new PyBytes(new byte[] {0, (byte) 0xFF}));
        m.put("empty", new PyBytes(new byte[0]));
        m.put("ba", new PyBytes(new byte[] {1}, true));
        m.put("size", new TorchSize(new long[] {2, 3}));
        m.put("dtype", DType.FLOAT8_E4M3FN);
        m.put("t4", PyTuple.of(1L, 2L, 3L, 4L));
        m.put("huge", BigInteger.ONE.shiftLeft(100));
        m.put("neg", -70000L);
        byte[] data = pickle(m);
        Set<Integer> allowed = Set.of(0x80, 0x2E, 0x28, 0x4E, 0x88, 0x89, 0x4A, 0x4B, 0x4D, 0x8A, 0x47, 0x58, 0x55, 0x29, 0x74,
                0x85, 0x86, 0x87, 0x5D, 0x61, 0x65, 0x7D, 0x73, 0x75, 0x8F, 0x63, 0x52, 0x81, 0x62, 0x51, 0x68, 0x6A, 0x71, 0x72);
        // walk the opcodes with their argument sizes (an independent mini-disassembler)
        int pos = 0;
        List<Integer> seen = new ArrayList<>();
        while (pos < data.length) {
            int op = data[pos++] & 0xFF;
            seen.add(op);
            assertThat(allowed).as("opcode 0x%02x at %d", op, pos - 1).contains(op);
            switch (op) {
                case 0x80, 0x4B, 0x71, 0x68 -> pos += 1;
                case 0x4D -> pos += 2;
                case 0x4A, 0x72, 0x6A -> pos += 4;
                case 0x47 -> pos += 8;
                case 0x8A -> pos += 1 + (data[pos] & 0xFF);
                case 0x58 -> pos += 4 + (int) le32(data, pos);
                case 0x63 -> {
                    for (int nl = 0; nl < 2; pos++) if (data[pos] == '\n') nl++;
                }
                default -> { }
            }
        }
        assertThat(pos).isEqualTo(data.length);
        assertThat(seen).contains(0x72, 0x6A, 0x8A, 0x62); // LONG_BINPUT/LONG_BINGET past 256 memo entries, LONG1, BUILD
    }

    @Test
    void valuesRoundTripThroughTheReader() {
        PyDict od = new PyDict(new PyGlobal("collections", "OrderedDict"));
        od.put("b", 2L);
        od.put("a", 1L);
        PyDict meta = new PyDict(new PyGlobal("collections", "OrderedDict"));
        meta.put("", new PyDict());
        PyDict attrs = new PyDict();
        attrs.put("_metadata", meta);
        od.setAttributes(attrs);
        PyObject ns = new PyObject(new PyGlobal("argparse", "Namespace"), PyTuple.EMPTY, null, PyObject.Origin.NEWOBJ);
        PyDict nsState = new PyDict();
        nsState.put("lr", 3e-4);
        nsState.put("dtype", DType.BFLOAT16);
        ns.setState(nsState);
        PySet frozen = new PySet(true);
        frozen.items().add("x");
        PyDict tupleKeys = new PyDict();
        tupleKeys.put(PyTuple.of("a", 1L), "v");
        Map<Object, Object> root = new LinkedHashMap<>();
        root.put("none", null);
        root.put("bools", List.of(true, false));
        root.put("ints", List.of(0L, 255L, 256L, 65535L, 65536L, -1L, Long.MAX_VALUE, Long.MIN_VALUE, BigInteger.TEN.pow(30).negate()));
        root.put("floats", List.of(0.0, -0.0, 1e300, Double.NaN, Double.NEGATIVE_INFINITY));
        root.put("str", "h\u00e9llo \u2713 \uD83D\uDE00");
        root.put("bytes", new PyBytes(new byte[] {0, 1, (byte) 0xFF}));
        root.put("emptyBytes", new PyBytes(new byte[0]));
        root.put("bytearray", new PyBytes(new byte[] {9, 8}, true));
        root.put("tuples", List.of(PyTuple.EMPTY, PyTuple.of(1L), PyTuple.of(1L, 2L), PyTuple.of(1L, 2L, 3L), PyTuple.of(1L, 2L, 3L, 4L, null)));
        root.put("od", od);
        root.put("ns", ns);
        root.put("frozen", frozen);
        root.put("size", new TorchSize(new long[] {128256, 4096}));
        root.put("global", new PyGlobal("builtins", "set"));
        root.put("tupleKeys", tupleKeys);
        root.put("int32", 7);

        PyDict back = (PyDict) read(pickle(root));
        assertThat(back.items().keySet()).containsExactlyElementsOf(root.keySet());
        assertThat(back.get("none")).isNull();
        assertThat(back.get("bools")).isEqualTo(List.of(true, false));
        assertThat(back.get("ints")).isEqualTo(root.get("ints"));
        @SuppressWarnings("unchecked")
        List<Object> floats = (List<Object>) back.get("floats");
        assertThat(floats).containsExactly(0.0, -0.0, 1e300, Double.NaN, Double.NEGATIVE_INFINITY);
        assertThat(Double.doubleToRawLongBits((Double) floats.get(1))).isEqualTo(Double.doubleToRawLongBits(-0.0));
        assertThat(back.get("str")).isEqualTo(root.get("str"));
        assertThat(back.get("bytes")).isEqualTo(root.get("bytes"));
        assertThat(back.get("emptyBytes")).isEqualTo(root.get("emptyBytes"));
        assertThat(back.get("bytearray")).isEqualTo(root.get("bytearray"));
        assertThat(back.get("tuples")).isEqualTo(root.get("tuples"));
        PyDict od2 = (PyDict) back.get("od");
        assertThat(od2.isOrderedDict()).isTrue();
        assertThat(od2.items()).containsExactly(Map.entry("b", 2L), Map.entry("a", 1L));
        PyDict meta2 = (PyDict) ((PyDict) od2.attributes()).get("_metadata");
        assertThat(meta2.isOrderedDict()).isTrue();
        assertThat(meta2.get("")).isInstanceOf(PyDict.class);
        PyObject ns2 = (PyObject) back.get("ns");
        assertThat(ns2.is("argparse", "Namespace")).isTrue();
        assertThat(ns2.origin()).isEqualTo(PyObject.Origin.NEWOBJ);
        assertThat(ns2.attr("lr")).isEqualTo(3e-4);
        assertThat(ns2.attr("dtype")).isEqualTo(DType.BFLOAT16);
        PySet frozen2 = (PySet) back.get("frozen");
        assertThat(frozen2.frozen()).isTrue();
        assertThat(frozen2.items()).containsExactly("x");
        assertThat(back.get("size")).isEqualTo(new TorchSize(new long[] {128256, 4096}));
        assertThat(back.get("global")).isEqualTo(new PyGlobal("builtins", "set"));
        assertThat(((PyDict) back.get("tupleKeys")).get(PyTuple.of("a", 1L))).isEqualTo("v");
        assertThat(back.get("int32")).isEqualTo(7L);
    }

    @Test
    void sharedAndSelfReferencingContainersKeepTheirIdentity() {
        List<Object> shared = new ArrayList<>(List.of(1L));
        List<Object> self = new ArrayList<>();
        self.add(self);
        byte[] data = pickle(List.of(shared, shared, self));
        @SuppressWarnings("unchecked")
        List<Object> back = (List<Object>) read(data);
        assertThat(back.get(0)).isSameAs(back.get(1));
        @SuppressWarnings("unchecked")
        List<Object> self2 = (List<Object>) back.get(2);
        assertThat(self2.get(0)).isSameAs(self2);
    }

    @Test
    void setsAreWrittenAsPython2WritesThem() {
        PySet s = new PySet(false);
        s.items().add(3L);
        byte[] data = pickle(s);
        // pickle.dumps({3}, protocol=2): GLOBAL '__builtin__ set' (the Python 2 name fix_imports writes), BINPUT 0,
        // EMPTY_LIST, BINPUT 1, BININT1 3, APPEND, TUPLE1, BINPUT 2, REDUCE, BINPUT 3, STOP
        assertThat(HexFormat.of().formatHex(data))
                .isEqualTo("8002635f5f6275696c74696e5f5f0a7365740a7100" + "5d7101" + "4b03" + "61" + "857102" + "527103" + "2e");
        PySet back = (PySet) read(data);
        assertThat(back.frozen()).isFalse();
        assertThat(back.items()).containsExactly(3L);
    }

    @Test
    void refusesWhatProtocolTwoForTorchCannotCarry() {
        assertThatThrownBy(() -> pickle(BigInteger.ONE.shiftLeft(3000))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("LONG4");
        assertThatThrownBy(() -> pickle(new Object())).isInstanceOf(IllegalArgumentException.class);
        PyDict kw = new PyDict();
        kw.put("k", 1L);
        assertThatThrownBy(() -> pickle(new PyObject(new PyGlobal("m", "C"), PyTuple.EMPTY, kw, PyObject.Origin.NEWOBJ)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keyword");
        assertThatThrownBy(() -> pickle(w -> w.get(5))).isInstanceOf(IllegalArgumentException.class);
    }

    private static long le32(byte[] d, int p) {
        return (d[p] & 0xFFL) | (d[p + 1] & 0xFFL) << 8 | (d[p + 2] & 0xFFL) << 16 | (d[p + 3] & 0xFFL) << 24;
    }

    private static byte[] dataPkl(Path file) throws IOException {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            ZipEntry e = zip.stream().filter(z -> z.getName().endsWith("/data.pkl")).findFirst().orElseThrow();
            try (InputStream in = zip.getInputStream(e)) {
                return in.readAllBytes();
            }
        }
    }

    /**
     * Protocol 4 against CPython 3.11's {@code pickle.dumps(v, protocol=4)} with its one FRAME opcode removed, for
     * v = {'a': 1, 'b': ['x', 'x'], 'c': (1, 2, 3, 4), 'd': b'\x00\x01', 'e': 2**40, 'f': -1.5, 'g': None,
     * 'h': collections.OrderedDict(), 'i': True, 'j': 'é' * 200}.
     */
    @Test
    void protocol4IsByteIdenticalToCPythonWithoutFrames() {
        PyDict v = new PyDict();
        v.put("a", 1L);
        v.put("b", new ArrayList<>(List.of("x", "x")));
        v.put("c", PyTuple.of(1L, 2L, 3L, 4L));
        v.put("d", new PyBytes(new byte[]{0, 1}));
        v.put("e", 1L << 40);
        v.put("f", -1.5);
        v.put("g", null);
        v.put("h", new PyDict(new PyGlobal("collections", "OrderedDict")));
        v.put("i", true);
        v.put("j", "é".repeat(200));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PickleWriter w = new PickleWriter(out, 4);
        w.proto();
        w.write(v);
        w.stop();
        String expected = "80047d94288c0161944b018c0162945d94288c0178946804658c016394284b014b024b034b0474948c0164944302"
                + "0001948c0165948a060000000000018c01669447bff80000000000008c0167944e8c0168948c0b636f6c6c656374696f6e73"
                + "948c0b4f726465726564446963749493942952948c016994888c016a945890010000" + "c3a9".repeat(200) + "94752e";
        assertThat(HexFormat.of().formatHex(out.toByteArray())).isEqualTo(expected);
        assertThat(read(out.toByteArray())).isInstanceOf(PyDict.class);
    }

    @Test
    void protocol4SetsAndGlobals() {
        PySet set = new PySet(false);
        set.items().add(1L);
        set.items().add(2L);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PickleWriter w = new PickleWriter(out, 4);
        w.proto();
        w.write(PyTuple.of(set, new PyGlobal("builtins", "set"), new PyGlobal("builtins", "set")));
        w.stop();
        // pickle.dumps(({1, 2}, set, set), protocol=4) without FRAME: EMPTY_SET MEMOIZE MARK 1 2 ADDITEMS,
        // STACK_GLOBAL of 'builtins' 'set' (no __builtin__ renaming), then a memo GET for the second reference
        assertThat(HexFormat.of().formatHex(out.toByteArray()))
                .isEqualTo("80048f9428" + "4b014b02" + "90" + "8c086275696c74696e73948c037365749493946803" + "87942e");
        assertThatThrownBy(() -> new PickleWriter(out, 3)).isInstanceOf(IllegalArgumentException.class);
    }
}
