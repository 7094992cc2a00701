package ckpt.format.torchsave;

import ckpt.format.tensor.Shapes;
import ckpt.format.pickle.PyBytes;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyObject;
import ckpt.format.pickle.PyTuple;
import ckpt.format.tensor.StridedView;
import ckpt.format.testing.Fixtures;
import ckpt.format.testing.StructureReference;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every {@code torch-save} fixture (zip and legacy stream) read through {@link TorchSaveFile}, against the PyTorch
 * oracle: per-tensor dtype/shape/stride/offset/storage size and sha256 of the contiguous bytes ({@code <file>.json},
 * gathered here element by element, independently of ckpt's copy code), the non-tensor structure, shared storages
 * (same storage_group ⇔ same record), and record positions ({@code structure.json}).
 */
class TorchSaveFileTest {
    static final List<String> FILES = List.of("legacy_nonzip.pt", "zip_dtypes.pt", "zip_module_state.pt",
            "zip_nested.pt", "zip_single_tensor.pt");

    static Path file(String name) {
        return Fixtures.path("torch-save", "files", name);
    }

    static JsonNode reference(String name) {
        return Fixtures.json(Fixtures.path("torch-save", "reference", name + ".json"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"legacy_nonzip.pt", "zip_dtypes.pt", "zip_module_state.pt", "zip_nested.pt", "zip_single_tensor.pt"})
    void tensorsMatchPyTorch(String name) {
        JsonNode ref = reference(name);
        try (TorchSaveFile f = TorchSaveFile.open(file(name))) {
            assertThat(f.legacy()).isEqualTo(name.startsWith("legacy"));
            assertThat(f.file()).isEqualTo(file(name));
            Map<Long, String> groupToRecord = new HashMap<>();
            var it = ref.get("tensors").properties().iterator();
            while (it.hasNext()) {
                var e = it.next();
                String path = e.getKey();
                JsonNode t = e.getValue();
                Object v = path.equals("<root>") ? f.root() : at(f.root(), path);
                assertThat(v).as(path).isInstanceOf(TensorRef.class);
                TensorRef tensor = (TensorRef) v;
                assertThat(tensor.dtype().torchName()).as(path).isEqualTo(t.get("dtype").asText());
                assertThat(tensor.shape()).as(path).containsExactly(Fixtures.longs(t.get("shape")));
                assertThat(tensor.stride()).as(path).containsExactly(Fixtures.longs(t.get("stride")));
                assertThat(tensor.storageOffset()).as(path).isEqualTo(t.get("storage_offset").asLong());
                StorageRecord rec = f.record(tensor.storage());
                assertThat(rec.length()).as(path).isEqualTo(t.get("storage_nbytes").asLong());

                StridedView view = f.view(tensor);
                boolean rowMajor = java.util.Arrays.equals(view.strides(), Shapes.contiguousStrides(view.shape()));
                assertThat(rowMajor || tensor.numel() <= 1).as(path).isEqualTo(t.get("is_contiguous").asBoolean());
                assertThat(Fixtures.sha256(MemorySegment.ofArray(gather(view)))).as(path).isEqualTo(t.get("sha256").asText());

                String before = groupToRecord.putIfAbsent(t.get("storage_group").asLong(), rec.key());
                if (before != null) assertThat(rec.key()).as(path + " shares its storage").isEqualTo(before);
            }
            // Different groups are different records, and every record of the file is one of them.
            assertThat(groupToRecord.values()).doesNotHaveDuplicates();
            assertThat(f.records().keySet()).containsExactlyInAnyOrderElementsOf(groupToRecord.values());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"legacy_nonzip.pt", "zip_dtypes.pt", "zip_module_state.pt", "zip_nested.pt", "zip_single_tensor.pt"})
    void structureMatchesPyTorch(String name) {
        try (TorchSaveFile f = TorchSaveFile.open(file(name))) {
            StructureReference.assertMatches(reference(name).get("structure"), f.root(), "", (ref, actual, path) -> {
                assertThat(actual).as(path).isInstanceOf(TensorRef.class);
                TensorRef t = (TensorRef) actual;
                assertThat(t.dtype().torchName()).as(path).isEqualTo(ref.get("dtype").asText());
                assertThat(t.shape()).as(path).containsExactly(Fixtures.longs(ref.get("shape")));
            });
        }
    }

    @Test
    void namespaceAndScalarsOfNestedFile() {
        try (TorchSaveFile f = TorchSaveFile.open(file("zip_nested.pt"))) {
            JsonNode objects = reference("zip_nested.pt").get("objects");
            PyDict root = (PyDict) f.root();
            assertThat(root.isOrderedDict()).isFalse();
            PyObject args = (PyObject) root.get("args");
            assertThat(args.is("argparse", "Namespace")).isTrue();
            assertThat(args.stateDict().items().keySet()).containsExactly("lr", "name", "layers", "use_bias", "extra");
            assertThat(args.attr("lr")).isEqualTo(objects.at("/args/items/lr").asDouble());
            assertThat(((PyDict) root.get("meta")).get("big_int")).isEqualTo(objects.get("meta/big_int").asLong());
            assertThat(((PyDict) root.get("meta")).get("bytes")).isEqualTo(new PyBytes(HexFormat.of().parseHex("0001ff")));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"zip_dtypes.pt", "zip_module_state.pt", "zip_nested.pt", "zip_single_tensor.pt"})
    void zipRecordsAreTheDataMembers(String name) {
        JsonNode members = Fixtures.json(Fixtures.path("torch-save", "reference", "structure.json")).get(name).get("members");
        Map<String, long[]> expected = new HashMap<>();
        for (JsonNode m : members) {
            String n = m.get("name").asText();
            int at = n.indexOf("/data/");
            if (at > 0) expected.put(n.substring(at + 6), new long[]{m.get("data_offset").asLong(), m.get("file_size").asLong()});
        }
        try (TorchSaveFile f = TorchSaveFile.open(file(name))) {
            assertThat(f.records().keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
            f.records().forEach((k, r) -> assertThat(new long[]{r.offset(), r.length()}).as(k).containsExactly(expected.get(k)));
        }
    }

    @Test
    void legacyPayloadsFollowTheKeyListInOrder() {
        JsonNode parts = Fixtures.json(Fixtures.path("torch-save", "reference", "structure.json")).at("/legacy_nonzip.pt/parts");
        JsonNode raw = parts.get(5).get("byte_range");
        try (TorchSaveFile f = TorchSaveFile.open(file("legacy_nonzip.pt"))) {
            // Keys are str(storage._cdata) pointer values; payloads come in key-list (sorted) order.
            assertThat(f.records().keySet()).containsExactly("799827344", "799827488", "799830832");
            List<StorageRecord> recs = new ArrayList<>(f.records().values());
            long at = raw.get(0).asLong();
            for (StorageRecord r : recs) {
                assertThat(r.offset()).isEqualTo(at + 8); // after the int64 element count
                at = r.offset() + r.length();
            }
            assertThat(at).isEqualTo(raw.get(1).asLong());
        }
    }

    @Test
    void legacyMagicIsTorchs() {
        assertThat(LegacyStream.MAGIC).isEqualTo(new BigInteger("119547037146038801333356"));
    }

    // ---- helpers ----

    /** Row-major gather of a strided view, element by element (deliberately naive: an independent oracle). */
    static byte[] gather(StridedView v) {
        long[] shape = v.shape();
        long[] strides = v.strides();
        int es = v.dtype().byteSize();
        long n = v.numel();
        byte[] out = new byte[Math.toIntExact(n * es)];
        long[] idx = new long[shape.length];
        for (long i = 0; i < n; i++) {
            long e = v.offset();
            for (int d = 0; d < shape.length; d++) e += idx[d] * strides[d];
            MemorySegment.copy(v.storage(), ValueLayout.JAVA_BYTE, e * es, out, (int) (i * es), es);
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        return out;
    }

    static Object at(Object root, String slashPath) {
        Object v = root;
        for (String part : slashPath.split("/")) {
            if (v instanceof PyDict d) v = d.get(part);
            else if (v instanceof List<?> l) v = l.get(Integer.parseInt(part));
            else if (v instanceof PyTuple t) v = t.get(Integer.parseInt(part));
            else if (v instanceof PyObject o) v = o.attr(part);
            else throw new AssertionError("cannot step into " + v + " with " + part);
        }
        return v;
    }
}
