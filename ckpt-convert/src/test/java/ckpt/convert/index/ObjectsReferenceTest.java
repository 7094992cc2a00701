package ckpt.convert.index;

import ckpt.convert.assembly.StridedCopy;
import ckpt.format.dcp.DcpCheckpoint;
import ckpt.format.megatron.MegatronCheckpoint;
import ckpt.format.pickle.NumpyArray;
import ckpt.format.pickle.PyBytes;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyObject;
import ckpt.format.pickle.PyTuple;
import ckpt.format.tensor.DType;
import ckpt.format.tensor.StridedView;
import ckpt.format.testing.Fixtures;
import ckpt.format.torchsave.TensorRef;
import ckpt.format.torchsave.TorchSaveArchive;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bytes items decode to the Python types and structure PyTorch itself reported in {@code reference/objects.json},
 * and Megatron's common state (from {@code common.pt} or the {@code common_state} item) equals {@code common.json}.
 */
class ObjectsReferenceTest {
    @ParameterizedTest
    @CsvSource({
            "dcp-variety/checkpoint, dcp-variety/reference/objects.json",
            "dcp-fsdp2/checkpoint, dcp-fsdp2/reference/objects.json",
            "megatron-llama-tp2/checkpoint/iter_0000004, megatron-llama-tp2/reference/iter_0000004/objects.json",
            "megatron-llama-tp2-core014/checkpoint/iter_0000004, megatron-llama-tp2-core014/reference/iter_0000004/objects.json",
            "megatron-qwen3-tp2/checkpoint/iter_0000004, megatron-qwen3-tp2/reference/iter_0000004/objects.json",
    })
    void bytesItemsMatchPyTorch(String checkpoint, String reference) {
        JsonNode ref = Fixtures.json(Fixtures.path(reference));
        try (DcpCheckpoint dcp = DcpCheckpoint.open(Fixtures.path(checkpoint))) {
            List<String> refKeys = new ArrayList<>();
            ref.fieldNames().forEachRemaining(refKeys::add);
            assertThat(dcp.metadata().bytesItems()).containsExactlyInAnyOrderElementsOf(refKeys);
            for (String key : refKeys) {
                TorchSaveArchive a = dcp.openObject(key);
                new Matcher(a).match(key, ref.get(key).get("value"), a.root());
            }
        }
    }

    @ParameterizedTest
    @CsvSource({
            "megatron-llama-tp2/checkpoint/iter_0000004, megatron-llama-tp2/reference/iter_0000004/common.json",
            "megatron-llama-tp2/checkpoint/iter_0000002, megatron-llama-tp2/reference/iter_0000002/common.json",
            "megatron-llama-tp2-core014/checkpoint/iter_0000004, megatron-llama-tp2-core014/reference/iter_0000004/common.json",
            "megatron-qwen3-tp2/checkpoint/iter_0000004, megatron-qwen3-tp2/reference/iter_0000004/common.json",
    })
    void commonStateMatchesMegatron(String checkpoint, String reference) {
        JsonNode ref = Fixtures.json(Fixtures.path(reference));
        try (MegatronCheckpoint m = MegatronCheckpoint.open(Fixtures.path(checkpoint))) {
            new Matcher(null).match("common", ref, m.common());
        }
    }

    @Test
    void modelConfigMatchesArgs() {
        for (String f : List.of("megatron-llama-tp2", "megatron-qwen3-tp2", "megatron-llama-tp2-core014")) {
            JsonNode model = Fixtures.json(Fixtures.path(f, "reference/iter_0000004/model.json"));
            JsonNode args = model.has("args") ? model.get("args") : model;
            try (MegatronCheckpoint m = MegatronCheckpoint.open(Fixtures.path(f, "checkpoint/iter_0000004"))) {
                var c = m.model();
                assertThat(c.numLayers()).as(f).isEqualTo(args.get("num_layers").asLong());
                assertThat(c.hiddenSize()).isEqualTo(args.get("hidden_size").asLong());
                assertThat(c.ffnHiddenSize()).isEqualTo(args.get("ffn_hidden_size").asLong());
                assertThat(c.numAttentionHeads()).isEqualTo(args.get("num_attention_heads").asLong());
                assertThat(c.numQueryGroups()).isEqualTo(args.get("num_query_groups").asLong());
                assertThat(c.kvChannels()).isEqualTo(args.get("kv_channels").asLong());
                assertThat(c.vocabSize()).isEqualTo(args.get("vocab_size").asLong());
                assertThat(c.paddedVocabSize()).isEqualTo(args.get("padded_vocab_size").asLong());
                assertThat(c.normalization()).isEqualTo(args.get("normalization").asText());
                assertThat(c.normEpsilon()).isEqualTo((args.has("layernorm_epsilon") ? args.get("layernorm_epsilon") : args.get("norm_epsilon")).asDouble());
                assertThat(c.rotaryBase()).isEqualTo(args.get("rotary_base").asDouble());
                assertThat(c.tiedEmbeddings()).isEqualTo(!args.get("untie_embeddings_and_output_weights").asBoolean());
                assertThat(c.qkLayernorm()).isEqualTo(args.get("qk_layernorm").asBoolean());
                assertThat(c.activation()).isEqualTo(args.get("swiglu").asBoolean() ? "swiglu" : "gelu");
                assertThat(m.parallelism().tensorParallel()).isEqualTo(args.get("tensor_model_parallel_size").asLong());
                assertThat(m.parallelism().worldSize()).isEqualTo(args.get("world_size").asLong());
                assertThat(m.iteration()).isEqualTo(4L);
            }
        }
    }

    /** Compares an inert pickle value with PyTorch's JSON description of the same Python object. */
    private record Matcher(TorchSaveArchive archive) {
        void match(String at, JsonNode ref, Object v) {
            // str/int Enum members (e.g. RerunDiagnostic) are str/int subclasses: PyTorch's JSON shows their value.
            if (ref != null && ref.isValueNode() && !ref.isNull() && v instanceof PyObject o && o.args() != null
                    && o.args().size() == 1 && o.state() == null) {
                v = o.args().get(0);
            }
            if (ref == null || ref.isNull()) {
                assertThat(v).as(at).isNull();
            } else if (ref.isBoolean()) {
                assertThat(v).as(at).isEqualTo(ref.asBoolean());
            } else if (ref.isIntegralNumber()) {
                assertThat(v instanceof BigInteger b ? b : BigInteger.valueOf((Long) v)).as(at).isEqualTo(ref.bigIntegerValue());
            } else if (ref.isFloatingPointNumber()) {
                assertThat(v).as(at).isEqualTo(ref.asDouble());
            } else if (ref.isTextual()) {
                assertThat(v).as(at).isEqualTo(ref.asText());
            } else if (ref.isArray()) {
                assertThat(v).as(at).isInstanceOf(List.class);
                List<?> l = (List<?>) v;
                assertThat(l).as(at).hasSize(ref.size());
                for (int i = 0; i < l.size(); i++) match(at + "[" + i + "]", ref.get(i), l.get(i));
            } else if (ref.has("__tuple__")) {
                assertThat(v).as(at).isInstanceOf(PyTuple.class);
                List<Object> items = ((PyTuple) v).items();
                assertThat(items).as(at).hasSize(ref.get("__tuple__").size());
                for (int i = 0; i < items.size(); i++) match(at + "(" + i + ")", ref.get("__tuple__").get(i), items.get(i));
            } else if (ref.has("__tensor__")) {
                assertThat(v).as(at).isInstanceOf(TensorRef.class);
                TensorRef t = (TensorRef) v;
                assertThat(t.dtype().torchName()).as(at).isEqualTo(ref.get("dtype").asText());
                if (archive != null) assertThat(sha(archive.view(t))).as(at).isEqualTo(ref.get("sha256").asText());
            } else if (ref.has("__type__")) {
                String type = ref.get("__type__").asText();
                switch (type) {
                    case "dict" -> matchDict(at, ref.get("items"), (PyDict) v);
                    case "argparse.Namespace" -> {
                        assertThat(((PyObject) v).type().toString()).as(at).isEqualTo("argparse.Namespace");
                        matchDict(at, ref.get("items"), ((PyObject) v).stateDict());
                    }
                    case "torch.dtype" -> assertThat("torch." + ((DType) v).torchName()).as(at).isEqualTo(ref.get("repr").asText());
                    case "numpy.ndarray" -> {
                        NumpyArray a = (NumpyArray) v;
                        assertThat(numpyName(a.dtype())).as(at).isEqualTo(ref.get("dtype").asText());
                        assertThat(sha(a.data())).as(at).isEqualTo(ref.get("sha256").asText());
                    }
                    case "io.BytesIO" -> {
                        PyObject o = (PyObject) v;
                        Object state = o.state();
                        PyBytes b = (PyBytes) ((PyTuple) state).get(0);
                        assertThat(HexFormat.of().formatHex(b.data())).as(at).isEqualTo(ref.get("hex").asText());
                    }
                    default -> { // enums: <Class.MEMBER: value>
                        PyObject o = (PyObject) v;
                        assertThat(o.type().toString()).as(at).isEqualTo(type);
                        String repr = ref.get("repr").asText();
                        String value = repr.substring(repr.lastIndexOf(": ") + 2, repr.length() - 1);
                        assertThat(String.valueOf(o.args().get(0)).replace("'", "")).as(at).isEqualTo(value.replace("'", ""));
                    }
                }
            } else {
                throw new AssertionError(at + ": unhandled reference node " + ref);
            }
        }

        void matchDict(String at, JsonNode items, PyDict d) {
            assertThat(d).as(at).isNotNull();
            List<String> refKeys = new ArrayList<>();
            items.fieldNames().forEachRemaining(refKeys::add);
            List<String> ours = d.items().keySet().stream().map(Matcher::repr).collect(Collectors.toList());
            assertThat(ours).as(at).containsExactlyElementsOf(refKeys);
            Iterator<Map.Entry<Object, Object>> it = d.items().entrySet().iterator();
            for (String k : refKeys) match(at + "." + k, items.get(k), it.next().getValue());
        }

        static String repr(Object key) {
            if (key instanceof PyTuple t) {
                String inner = t.items().stream().map(Matcher::repr).collect(Collectors.joining(", "));
                return "(" + inner + (t.size() == 1 ? ",)" : ")");
            }
            if (key instanceof DType d) return "torch." + d.torchName();
            return String.valueOf(key);
        }

        static String numpyName(String code) {
            String c = code.replaceAll("^[<>=|]", "");
            return switch (c) {
                case "u1" -> "uint8"; case "u2" -> "uint16"; case "u4" -> "uint32"; case "u8" -> "uint64";
                case "i1" -> "int8"; case "i2" -> "int16"; case "i4" -> "int32"; case "i8" -> "int64";
                case "f2" -> "float16"; case "f4" -> "float32"; case "f8" -> "float64"; case "b1" -> "bool";
                default -> c;
            };
        }

        static String sha(StridedView v) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment dst = arena.allocate(Math.max(1, v.byteSize())).asSlice(0, v.byteSize());
                StridedCopy.copy(v, new long[v.rank()], v.shape(), dst, v.shape(), new long[v.rank()]);
                return Fixtures.sha256(dst);
            }
        }

        static String sha(byte[] b) {
            return Fixtures.sha256(MemorySegment.ofArray(b));
        }
    }
}
