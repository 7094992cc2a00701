package ckpt.format.pickle;

import ckpt.format.testing.Fixtures;
import ckpt.format.testing.StructureReference;
import static org.assertj.core.api.Assertions.assertThat;

import ckpt.format.tensor.DType;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Protocol-2 {@code data.pkl} of real torch.save files against the fixtures' reference JSON. */
class PickleReaderTorchSaveTest {
    /** What the test's persistent loader makes of a storage id. */
    record Storage(String storageClass, String key, long numel) {}

    /** What the test's tensor reducer makes of _rebuild_tensor_v2/_v3 arguments. */
    record Tensor(Storage storage, long offset, long[] size, long[] stride, DType dtype) {}

    private static final Path FILES = Fixtures.root().resolve("torch-save/files");
    private static final Path REFERENCE = Fixtures.root().resolve("torch-save/reference");

    private static PickleReader reader(Path file) {
        return PickleReader.builder()
                .file(file)
                .persistentLoader(PickleReaderTorchSaveTest::storage)
                .reducer("torch._utils", "_rebuild_tensor_v2", args -> tensor(args, null))
                .reducer("torch._utils", "_rebuild_tensor_v3", args -> tensor(args, (DType) args.get(6)))
                .build();
    }

    private static Object storage(Object pid) {
        PyTuple t = (PyTuple) pid;
        assertThat(t.get(0)).isEqualTo("storage");
        PyGlobal cls = (PyGlobal) t.get(1);
        return new Storage(cls.name(), (String) t.get(2), (Long) t.get(4));
    }

    private static Object tensor(PyTuple args, DType explicit) {
        Storage s = (Storage) args.get(0);
        DType dtype = explicit != null ? explicit : DType.fromStorageClass(s.storageClass()).orElseThrow();
        return new Tensor(s, (Long) args.get(1), longs((PyTuple) args.get(2)), longs((PyTuple) args.get(3)), dtype);
    }

    private static long[] longs(PyTuple t) {
        return t.items().stream().mapToLong(o -> (Long) o).toArray();
    }

    static Object readDataPkl(Path file) throws IOException {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            ZipEntry e = zip.stream().filter(z -> z.getName().endsWith("/data.pkl")).findFirst().orElseThrow();
            try (InputStream in = zip.getInputStream(e)) {
                return reader(file).read(in.readAllBytes());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"zip_nested.pt", "zip_dtypes.pt", "zip_module_state.pt", "zip_single_tensor.pt"})
    void zipFilesMatchReference(String name) throws IOException {
        JsonNode ref = Fixtures.json(REFERENCE.resolve(name + ".json"));
        Object root = readDataPkl(FILES.resolve(name));
        assertMatches(ref.get("structure"), root);
        checkTensors(ref, root);
    }

    @Test
    void legacyFileIsFivePicklesBackToBack() {
        Path file = FILES.resolve("legacy_nonzip.pt");
        JsonNode parts = Fixtures.json(REFERENCE.resolve("structure.json")).at("/legacy_nonzip.pt/parts");
        MemorySegment data = MemorySegment.ofArray(Fixtures.bytes(file));
        PickleReader r = PickleReader.builder().file(file)
                .persistentLoader(pid -> {
                    PyTuple t = (PyTuple) pid;
                    assertThat(t.size()).isEqualTo(6); // legacy ids carry view metadata
                    return new Storage(((PyGlobal) t.get(1)).name(), (String) t.get(2), (Long) t.get(4));
                })
                .reducer("torch._utils", "_rebuild_tensor_v2", args -> tensor(args, null))
                .build();
        List<Object> values = new ArrayList<>();
        long at = 0;
        for (int i = 0; i < 5; i++) {
            PickleReader.Result res = r.readAt(data, at);
            assertThat(at).isEqualTo(parts.get(i).get("byte_range").get(0).asLong());
            assertThat(res.end()).isEqualTo(parts.get(i).get("byte_range").get(1).asLong());
            values.add(res.value());
            at = res.end();
        }
        assertThat(values.get(0)).isEqualTo(new BigInteger("1950a86a20f9469cfc6c", 16)); // torch's MAGIC_NUMBER
        assertThat(values.get(1)).isEqualTo(1001L);
        PyDict sysInfo = (PyDict) values.get(2);
        assertThat(sysInfo.get("little_endian")).isEqualTo(true);
        assertThat(((PyDict) sysInfo.get("type_sizes")).items()).containsEntry("short", 2L).containsEntry("int", 4L);
        JsonNode ref = Fixtures.json(REFERENCE.resolve("legacy_nonzip.pt.json"));
        assertMatches(ref.get("structure"), values.get(3));
        checkTensors(ref, values.get(3));
        @SuppressWarnings("unchecked")
        List<Object> keys = (List<Object>) values.get(4);
        assertThat(keys).containsExactly("799827344", "799827488", "799830832");
    }

    @Test
    void moduleStateDictKeepsMetadataAsAttributesNotItems() throws IOException {
        PyDict sd = (PyDict) readDataPkl(FILES.resolve("zip_module_state.pt"));
        assertThat(sd.isOrderedDict()).isTrue();
        assertThat(sd.items().keySet()).allMatch(k -> !k.equals("_metadata"));
        PyDict attrs = (PyDict) sd.attributes();
        PyDict metadata = (PyDict) attrs.get("_metadata");
        assertThat(metadata.isOrderedDict()).isTrue();
        // nn.Module.state_dict records one entry per module prefix: the root "" and each submodule
        List<Object> expected = new ArrayList<>();
        expected.add("");
        for (Object k : sd.items().keySet()) {
            String prefix = ((String) k).substring(0, ((String) k).lastIndexOf('.'));
            if (!expected.contains(prefix)) expected.add(prefix);
        }
        assertThat(metadata.items().keySet()).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(((PyDict) metadata.get("")).get("version")).isInstanceOf(Long.class);
    }

    @Test
    void namespaceStaysInertWithAttributes() throws IOException {
        PyDict root = (PyDict) readDataPkl(FILES.resolve("zip_nested.pt"));
        PyObject args = (PyObject) root.get("args");
        assertThat(args.is("argparse", "Namespace")).isTrue();
        assertThat(args.origin()).isEqualTo(PyObject.Origin.NEWOBJ);
        assertThat(args.args().size()).isZero();
        assertThat(args.attr("lr")).isEqualTo(0.0003);
        assertThat(args.attr("layers")).isEqualTo(List.of(1L, 2L, 3L));
        assertThat(args.hasAttr("extra")).isTrue();
        assertThat(args.attr("extra")).isNull();
    }

    // ---- reference comparison ----

    private static void checkTensors(JsonNode ref, Object root) {
        Map<Long, String> groupToKey = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = ref.get("tensors").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode t = e.getValue();
            Object v = root;
            if (!e.getKey().isEmpty() && !ref.get("top_level_type").asText().equals("Tensor")) {
                for (String part : e.getKey().split("/")) v = child(v, part);
            }
            Tensor tensor = (Tensor) v;
            assertThat(tensor.dtype().torchName()).as(e.getKey()).isEqualTo(t.get("dtype").asText());
            assertThat(tensor.size()).as(e.getKey()).containsExactly(Fixtures.longs(t.get("shape")));
            assertThat(tensor.stride()).as(e.getKey()).containsExactly(Fixtures.longs(t.get("stride")));
            assertThat(tensor.offset()).as(e.getKey()).isEqualTo(t.get("storage_offset").asLong());
            long elemBytes = tensor.storage().storageClass().equals("UntypedStorage") ? 1 : tensor.dtype().byteSize();
            assertThat(tensor.storage().numel() * elemBytes).as(e.getKey()).isEqualTo(t.get("storage_nbytes").asLong());
            String prev = groupToKey.putIfAbsent(t.get("storage_group").asLong(), tensor.storage().key());
            if (prev != null) assertThat(tensor.storage().key()).isEqualTo(prev);
        }
        assertThat(groupToKey.values()).doesNotHaveDuplicates();
    }

    private static void assertMatches(JsonNode structure, Object root) {
        StructureReference.assertMatches(structure, root, "", (ref, actual, path) -> {
            assertThat(actual).as(path).isInstanceOf(Tensor.class);
            assertThat(((Tensor) actual).size()).as(path).containsExactly(Fixtures.longs(ref.get("shape")));
        });
    }

    private static Object child(Object v, String part) {
        if (v instanceof PyDict d) return d.get(part);
        if (v instanceof List<?> l) return l.get(Integer.parseInt(part));
        if (v instanceof PyObject o) return o.attr(part);
        throw new AssertionError("cannot step into " + v + " with " + part);
    }
}
