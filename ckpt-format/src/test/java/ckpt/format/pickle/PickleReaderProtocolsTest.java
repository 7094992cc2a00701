package ckpt.format.pickle;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every opcode family, on pickles CPython wrote. The hex strings were produced with CPython 3.11.7 {@code pickle}
 * (and numpy 2.4.6), e.g. {@code pickle.dumps(obj, 0).hex()}; the expected values are the Python objects pickled.
 */
class PickleReaderProtocolsTest {
    /** {'s': 'a\'b"c\n\u00e9\u2713', 'i': 12, 'big': 2**70, 'neg': -5, 'f': 1.25, 't': (1, 2), 'l': [None, True, False], 'b': b'\x00\xff'} */
    private static final String PROTOCOL_0 = "286470300a56730a70310a5661276222635c7530303061e95c75323731330a70320a7356690a70330a4931320a73566269670a70340a4c313138303539313632303731373431313330333432344c0a73566e65670a70350a492d350a7356660a70360a46312e32350a7356740a70370a2849310a49320a7470380a73566c0a70390a286c7031300a4e614930310a614930300a617356620a7031310a635f636f646563730a656e636f64650a7031320a28565c7530303030ff0a7031330a566c6174696e310a7031340a747031350a527031360a732e";
    /** The same dict with protocol 1. */
    private static final String PROTOCOL_1 = "7d7100285801000000737101580b00000061276222630ac3a9e29c93710258010000006971034b0c580300000062696771044c313138303539313632303731373431313330333432344c0a58030000006e656771054afbffffff5801000000667106473ff40000000000005801000000747107284b014b0274710858010000006c71095d710a284e4930310a4930300a65580100000062710b635f636f646563730a656e636f64650a710c28580300000000c3bf710d58060000006c6174696e31710e74710f527110752e";
    /** np.arange(4, dtype=np.uint32).reshape(2, 2), protocol 2 and 4. */
    private static final String NUMPY_2 = "8002636e756d70792e5f636f72652e6d756c746961727261790a5f7265636f6e7374727563740a7100636e756d70790a6e6461727261790a71014b00857102635f636f646563730a656e636f64650a7103580100000062710458060000006c6174696e317105867106527107877108527109284b014b024b0286710a636e756d70790a64747970650a710b58020000007534710c898887710d52710e284b0358010000003c710f4e4e4e4affffffff4affffffff4b007471106289680358100000000000000001000000020000000300000071116805867112527113747114622e";
    private static final String NUMPY_4 = "8004959b000000000000008c166e756d70792e5f636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b014b024b02869468038c0564747970659493948c02753494898887945294284b038c013c944e4e4e4affffffff4affffffff4b0074946289431000000000010000000200000003000000947494622e";
    /** np.float64(2.5), protocol 2. */
    private static final String NUMPY_SCALAR = "8002636e756d70792e5f636f72652e6d756c746961727261790a7363616c61720a7100636e756d70790a64747970650a71015802000000663871028988877103527104284b0358010000003c71054e4e4e4affffffff4affffffff4b0074710662635f636f646563730a656e636f64650a710758080000000000000000000440710858060000006c6174696e31710986710a52710b86710c52710d2e";
    /** {'fs': frozenset([1]), 'ba': bytearray(b'xy'), 'st': {2}, 'p': pathlib.PurePosixPath('/a/b')}, protocol 5. */
    private static final String PROTOCOL_5 = "8005955b000000000000007d94288c02667394284b0191948c026261949602000000000000007879948c027374948f94284b02908c0170948c07706174686c6962948c0d50757265506f736978506174689493948c012f948c0161948c01629487945294752e";
    /** An instance of class m.D whose __getnewargs_ex__ returns ((1,), {'k': 2}), with __dict__ {'a': 1}; protocol 4. */
    private static final String NEWOBJ_EX = "80049524000000000000008c016d948c01449493944b0185947d948c016b944b027392947d948c0161944b0173622e";
    /** pickle.dumps(C(), 0) for a plain class C with x = 1, s = 'é' (copy_reg._reconstructor form). */
    private static final String RECONSTRUCTOR = "63636f70795f7265670a5f7265636f6e7374727563746f720a70300a28635f5f6d61696e5f5f0a430a70310a635f5f6275696c74696e5f5f0a6f626a6563740a70320a4e74703" + "30a5270340a2864703" + "50a56780a70360a49310a7356730a70370a56e90a70380a73622e";

    private static Object read(String hex) {
        return read(HexFormat.of().parseHex(hex));
    }

    private static Object read(byte[] data) {
        return PickleReader.builder().build().read(data);
    }

    @Test
    void protocols0And1() {
        for (String hex : List.of(PROTOCOL_0, PROTOCOL_1)) {
            PyDict d = (PyDict) read(hex);
            assertThat(d.items().keySet()).containsExactly("s", "i", "big", "neg", "f", "t", "l", "b");
            assertThat(d.get("s")).isEqualTo("a'b\"c\n\u00e9\u2713");
            assertThat(d.get("i")).isEqualTo(12L);
            assertThat(d.get("big")).isEqualTo(BigInteger.TWO.pow(70));
            assertThat(d.get("neg")).isEqualTo(-5L);
            assertThat(d.get("f")).isEqualTo(1.25);
            assertThat(d.get("t")).isEqualTo(PyTuple.of(1L, 2L));
            assertThat(d.get("l")).isEqualTo(java.util.Arrays.asList(null, true, false));
            assertThat(d.get("b")).isEqualTo(new PyBytes(new byte[] {0, (byte) 0xFF}));
        }
    }

    @Test
    void copyRegReconstructorBecomesAnInstance() {
        PyObject o = (PyObject) read(RECONSTRUCTOR);
        assertThat(o.is("__main__", "C")).isTrue();
        assertThat(o.attr("x")).isEqualTo(1L);
        assertThat(o.attr("s")).isEqualTo("\u00e9");
    }

    @Test
    void numpyArraysInProtocols2And4() {
        for (String hex : List.of(NUMPY_2, NUMPY_4)) {
            NumpyArray a = (NumpyArray) read(hex);
            assertThat(a.dtype()).isEqualTo("<u4");
            assertThat(a.shape()).containsExactly(2, 2);
            assertThat(a.fortranOrder()).isFalse();
            assertThat(a.data()).containsExactly(HexFormat.of().parseHex("00000000010000000200000003000000"));
            assertThat(a.objects()).isNull();
        }
    }

    @Test
    void numpyScalar() {
        assertThat(read(NUMPY_SCALAR)).isEqualTo(new NumpyScalar("<f8", HexFormat.of().parseHex("0000000000000440")));
    }

    @Test
    void protocol5SetsBytearraysAndPaths() {
        PyDict d = (PyDict) read(PROTOCOL_5);
        PySet fs = (PySet) d.get("fs");
        assertThat(fs.frozen()).isTrue();
        assertThat(fs.items()).containsExactly(1L);
        assertThat(d.get("ba")).isEqualTo(new PyBytes("xy".getBytes(StandardCharsets.US_ASCII), true));
        PySet st = (PySet) d.get("st");
        assertThat(st.frozen()).isFalse();
        assertThat(st.items()).containsExactly(2L);
        assertThat(d.get("p")).isEqualTo("/a/b");
    }

    @Test
    void newobjExKeepsKeywordArguments() {
        PyObject o = (PyObject) read(NEWOBJ_EX);
        assertThat(o.is("m", "D")).isTrue();
        assertThat(o.args()).isEqualTo(PyTuple.of(1L));
        assertThat(o.kwargs().items()).containsExactly(Map.entry("k", 2L));
        assertThat(o.attr("a")).isEqualTo(1L);
    }

    @Test
    void handWrittenProtocol0Opcodes() {
        byte[] inst = "(I1\ni__main__\nK\n.".getBytes(StandardCharsets.US_ASCII);
        PyObject o = (PyObject) read(inst);
        assertThat(o.is("__main__", "K")).isTrue();
        assertThat(o.origin()).isEqualTo(PyObject.Origin.INST);
        assertThat(o.args()).isEqualTo(PyTuple.of(1L));
        PyObject obj = (PyObject) read("(c__main__\nK\nI2\no.".getBytes(StandardCharsets.US_ASCII));
        assertThat(obj.args()).isEqualTo(PyTuple.of(2L));
        assertThat(read("S'ab\\x41\\n\\''\n.".getBytes(StandardCharsets.US_ASCII))).isEqualTo("abA\n'");
        assertThat(read("I01\n.".getBytes(StandardCharsets.US_ASCII))).isEqualTo(true);
        assertThat(read("F-inf\n.".getBytes(StandardCharsets.US_ASCII))).isEqualTo(Double.NEGATIVE_INFINITY);
        assertThat(read("(I1\nI2\nl.".getBytes(StandardCharsets.US_ASCII))).isEqualTo(List.of(1L, 2L));
        assertThat(((PyDict) read("(S'k'\nI3\nd.".getBytes(StandardCharsets.US_ASCII))).items()).containsExactly(Map.entry("k", 3L));
        // POP, POP_MARK, DUP, PUT/GET
        assertThat(read("I1\nN0.".getBytes(StandardCharsets.US_ASCII))).isEqualTo(1L);
        assertThat(read("I1\n(NN1.".getBytes(StandardCharsets.US_ASCII))).isEqualTo(1L);
        assertThat(read("(I1\n2t.".getBytes(StandardCharsets.US_ASCII))).isEqualTo(PyTuple.of(1L, 1L));
        assertThat(read("(I7\np5\n0g5\nt.".getBytes(StandardCharsets.US_ASCII))).isEqualTo(PyTuple.of(7L));
        assertThat(read("V\\u20ac\\\\u\n.".getBytes(StandardCharsets.US_ASCII))).isEqualTo("\u20ac\\\\u");
    }

    @Test
    void python2NamesAreMappedOnlyBelowProtocol3() {
        byte[] p2 = HexFormat.of().parseHex("8002" + "63" + HexFormat.of().formatHex("__builtin__\nunicode\n".getBytes()) + "2e");
        assertThat(read(p2)).isEqualTo(new PyGlobal("builtins", "str"));
        byte[] p3 = HexFormat.of().parseHex("8003" + "63" + HexFormat.of().formatHex("__builtin__\nunicode\n".getBytes()) + "2e");
        assertThat(read(p3)).isEqualTo(new PyGlobal("__builtin__", "unicode"));
        byte[] copyReg = "ccopy_reg\n_reconstructor\n.".getBytes(StandardCharsets.US_ASCII);
        assertThat(read(copyReg)).isEqualTo(new PyGlobal("copyreg", "_reconstructor"));
        byte[] torchTensor = "ctorch.tensor\n_rebuild_from_type\n.".getBytes(StandardCharsets.US_ASCII);
        assertThat(read(torchTensor)).isEqualTo(new PyGlobal("torch._tensor", "_rebuild_from_type"));
        assertThat(read("ctorch\nbfloat16\n.".getBytes(StandardCharsets.US_ASCII))).isEqualTo(ckpt.format.tensor.DType.BFLOAT16);
        assertThat(read("ctorch\nnot_a_dtype\n.".getBytes(StandardCharsets.US_ASCII))).isEqualTo(new PyGlobal("torch", "not_a_dtype"));
    }

    @Test
    void registeredReducerOverridesTheBuiltIn() {
        byte[] size = "ctorch\nSize\n((I2\nI3\nttR.".getBytes(StandardCharsets.US_ASCII);
        assertThat(read(size)).isEqualTo(new TorchSize(new long[] {2, 3}));
        PickleReader custom = PickleReader.builder().reducer("torch", "Size", args -> "custom " + args.size()).build();
        assertThat(custom.read(size)).isEqualTo("custom 1");
    }
}
