package ckpt.format.pickle;

import ckpt.format.testing.Fixtures;
import static org.assertj.core.api.Assertions.assertThat;

import ckpt.format.tensor.DType;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Real DCP {@code .metadata} pickles (protocol 4) against the fixtures' Python-written reference JSON. */
class PickleReaderDcpTest {

    static Stream<String> fixturesWithReference() {
        return Stream.of("megatron-llama3-8b-meta/checkpoint/iter_0000001", "dcp-variety/checkpoint", "dcp-fsdp2/checkpoint");
    }

    static Stream<Path> allMetadataFiles() throws IOException {
        try (Stream<Path> s = Files.walk(Fixtures.root())) {
            List<Path> files = s.filter(p -> p.getFileName().toString().equals(".metadata")).sorted().toList();
            assertThat(files).hasSizeGreaterThanOrEqualTo(8);
            return files.stream();
        }
    }

    private static Object read(Path file) {
        return PickleReader.builder().file(file).build().read(Fixtures.bytes(file));
    }

    @ParameterizedTest
    @MethodSource("allMetadataFiles")
    void everyMetadataParsesToADcpMetadataObject(Path file) {
        byte[] data = Fixtures.bytes(file);
        PickleReader.Result r = PickleReader.builder().file(file).build().readAt(java.lang.foreign.MemorySegment.ofArray(data), 0);
        assertThat(r.end()).isEqualTo(data.length);
        assertThat(r.value()).isInstanceOfSatisfying(PyObject.class, o -> {
            assertThat(o.type().name()).endsWith("Metadata");
            assertThat(o.attr("state_dict_metadata")).isInstanceOf(PyDict.class);
            assertThat(o.attr("storage_data")).isInstanceOf(PyDict.class);
        });
    }

    @ParameterizedTest
    @MethodSource("fixturesWithReference")
    void metadataMatchesReference(String dir) {
        Path ckpt = Fixtures.root().resolve(dir);
        Path fixture = Fixtures.root().resolve(dir.substring(0, dir.indexOf('/')));
        JsonNode ref = Fixtures.json(fixture.resolve("reference/dcp_metadata.json"));
        PyObject md = (PyObject) read(ckpt.resolve(".metadata"));

        assertThat(md.type().toString()).isEqualTo(ref.get("metadata_class").asText());

        // state_dict_metadata: same keys in the same order, tensor sizes, dtypes, chunks
        PyDict sdm = (PyDict) md.attr("state_dict_metadata");
        JsonNode refSdm = ref.get("state_dict_metadata");
        List<String> refKeys = new ArrayList<>();
        refSdm.fieldNames().forEachRemaining(refKeys::add);
        assertThat(sdm.items().keySet()).containsExactlyElementsOf(refKeys);
        for (String key : refKeys) {
            JsonNode r = refSdm.get(key);
            PyObject m = (PyObject) sdm.get(key);
            if (r.get("kind").asText().equals("bytes")) {
                assertThat(m.isNamed("BytesStorageMetadata")).as(key).isTrue();
                continue;
            }
            assertThat(m.isNamed("TensorStorageMetadata")).as(key).isTrue();
            assertThat(((TorchSize) m.attr("size")).dims()).as(key).containsExactly(longs(r.get("size")));
            PyObject props = (PyObject) m.attr("properties");
            PyTuple state = (PyTuple) props.state(); // TensorProperties.__getstate__: (dtype, layout, requires_grad, memory_format, pin_memory)
            assertThat(state.get(0)).as(key).isEqualTo(DType.fromTorchName(r.get("dtype").asText()).orElseThrow());
            assertThat(state.get(2)).isEqualTo(r.at("/properties/requires_grad").asBoolean());
            assertThat(state.get(4)).isEqualTo(r.at("/properties/pin_memory").asBoolean());
            PyObject layout = (PyObject) state.get(1);
            assertThat(layout.is("torch.serialization", "_get_layout")).isTrue();
            assertThat(layout.args().get(0)).isEqualTo(r.at("/properties/layout").asText());
            @SuppressWarnings("unchecked")
            List<Object> chunks = (List<Object>) m.attr("chunks");
            assertThat(chunks).as(key).hasSize(r.get("chunks").size());
            for (int i = 0; i < chunks.size(); i++) {
                PyObject c = (PyObject) chunks.get(i);
                assertThat(((TorchSize) c.attr("offsets")).dims()).containsExactly(longs(r.get("chunks").get(i).get("offsets")));
                assertThat(((TorchSize) c.attr("sizes")).dims()).containsExactly(longs(r.get("chunks").get(i).get("sizes")));
            }
        }

        // storage_data: MetadataIndex -> _StorageInfo, in order
        PyDict sd = (PyDict) md.attr("storage_data");
        JsonNode refSd = ref.get("storage_data");
        assertThat(sd.size()).isEqualTo(refSd.size());
        Iterator<Map.Entry<Object, Object>> it = sd.items().entrySet().iterator();
        for (JsonNode r : refSd) {
            Map.Entry<Object, Object> e = it.next();
            PyObject idx = (PyObject) e.getKey();
            PyObject info = (PyObject) e.getValue();
            assertThat(idx.isNamed("MetadataIndex")).isTrue();
            assertThat(idx.attr("fqn")).isEqualTo(r.get("fqn").asText());
            if (r.get("offset").isNull()) assertThat(idx.attr("offset")).isNull();
            else assertThat(((TorchSize) idx.attr("offset")).dims()).containsExactly(longs(r.get("offset")));
            if (r.get("index").isNull()) assertThat(idx.attr("index")).isNull();
            else assertThat(idx.attr("index")).isEqualTo(r.get("index").asLong());
            assertThat(info.type().toString()).isEqualTo(r.get("storage_type").asText());
            assertThat(info.attr("relative_path")).isEqualTo(r.get("storage_relative_path").asText());
            assertThat(info.attr("offset")).isEqualTo(r.get("storage_offset").asLong());
            assertThat(info.attr("length")).isEqualTo(r.get("storage_length").asLong());
        }

        // the rest: version, storage_meta (a pathlib path becomes a string), planner_data
        JsonNode other = ref.get("other_attributes");
        assertThat(md.attr("version")).isEqualTo(other.get("version").asText());
        PyObject sm = (PyObject) md.attr("storage_meta");
        assertThat(sm.type().toString()).isEqualTo(other.at("/storage_meta/__type__").asText());
        JsonNode id = other.at("/storage_meta/fields/checkpoint_id");
        String expectedId = id.isTextual() ? id.asText() : id.get("repr").asText().replaceAll("^PosixPath\\('(.*)'\\)$", "$1");
        assertThat(sm.attr("checkpoint_id")).isEqualTo(expectedId);
        assertThat(sm.attr("save_id")).isEqualTo(other.at("/storage_meta/fields/save_id").asText());
        JsonNode planner = other.get("planner_data");
        if (planner.isNull()) {
            assertThat(md.attr("planner_data")).isNull();
        } else {
            PyDict pd = (PyDict) md.attr("planner_data");
            List<String> names = new ArrayList<>();
            planner.get("items").fieldNames().forEachRemaining(names::add);
            assertThat(pd.items().keySet()).containsExactlyElementsOf(names);
            for (String n : names) {
                List<Object> parts = new ArrayList<>();
                planner.get("items").get(n).get("__tuple__").forEach(x -> parts.add(x.isIntegralNumber() ? (Object) x.asLong() : x.asText()));
                assertThat(((PyTuple) pd.get(n)).items()).containsExactlyElementsOf(parts);
            }
        }

        // every global the pickle names shows up as a class, a dtype, or an interpreted value
        JsonNode structure = Fixtures.json(fixture.resolve("reference/structure.json")).get(".metadata");
        assertThat(structure.at("/pickle/protocol").asInt()).isEqualTo(Fixtures.bytes(ckpt.resolve(".metadata"))[1]);
        TreeSet<String> seen = new TreeSet<>();
        PickleGraph.walk(md, v -> {
            if (v instanceof PyObject o) seen.add(o.type().toString());
            if (v instanceof PyGlobal g) seen.add(g.toString());
            if (v instanceof DType d) seen.add("torch." + d.torchName());
            if (v instanceof TorchSize) seen.add("torch.Size");
        });
        TreeSet<String> expected = new TreeSet<>();
        structure.at("/pickle/globals").fieldNames().forEachRemaining(expected::add);
        expected.remove("pathlib.PosixPath"); // interpreted into a string
        assertThat(seen).isEqualTo(expected);
    }

    @Test
    void megatronLlama3MetadataCounts() {
        Path file = Fixtures.root().resolve("megatron-llama3-8b-meta/checkpoint/iter_0000001/.metadata");
        PyObject md = (PyObject) read(file);
        assertThat(md.is("torch.distributed.checkpoint.metadata", "Metadata")).isTrue();
        assertThat(((PyDict) md.attr("state_dict_metadata")).size()).isEqualTo(147);
        assertThat(((PyDict) md.attr("storage_data")).size()).isEqualTo(950);
    }

    @Test
    void tensorPropertiesShareMemoizedGlobals() {
        // The same dtype object and layout REDUCE are referenced many times through the memo.
        Path file = Fixtures.root().resolve("dcp-variety/checkpoint/.metadata");
        PyObject md = (PyObject) read(file);
        PyDict sdm = (PyDict) md.attr("state_dict_metadata");
        PyObject f32 = (PyObject) sdm.get("f32");
        PyObject f32b = (PyObject) sdm.get("scalar_f32");
        Object layoutA = ((PyTuple) ((PyObject) f32.attr("properties")).state()).get(1);
        Object layoutB = ((PyTuple) ((PyObject) f32b.attr("properties")).state()).get(1);
        assertThat(layoutA).isSameAs(layoutB);
    }

    private static long[] longs(JsonNode arr) {
        long[] out = new long[arr.size()];
        for (int i = 0; i < out.length; i++) out[i] = arr.get(i).asLong();
        return out;
    }
}
