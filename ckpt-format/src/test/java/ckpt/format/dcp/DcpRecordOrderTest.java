package ckpt.format.dcp;


import ckpt.format.pickle.PickleWriter;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyObject;
import ckpt.format.testing.Fixtures;
import ckpt.format.torchsave.TorchGlobals;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * torch writes a {@code .metadata}'s chunk records (state_dict_metadata) before its storage records (storage_data),
 * and the reader's compiled code is primed for that; any other order must decode the same: storage records first,
 * last, or in reverse, on the fast path as on the generic one, and as the file in torch's order where the order of
 * storage_data itself is kept.
 */
class DcpRecordOrderTest {
    @TempDir
    Path tmp;

    private static final List<String> FIXTURES = List.of("dcp-variety/checkpoint",
            "megatron-llama3-8b-meta/checkpoint/iter_0000001", "megatron-qwen3-tp2/checkpoint/iter_0000004");

    private static PyDict reordered(PyDict state, List<String> firstKeys) {
        PyDict out = new PyDict();
        for (String k : firstKeys) if (state.get(k) != null || state.items().containsKey(k)) out.put(k, state.get(k));
        state.items().forEach((k, v) -> {
            if (!out.items().containsKey(k)) out.put(k, v);
        });
        return out;
    }

    private static PyDict reversedItems(PyDict d) {
        List<Map.Entry<Object, Object>> items = new ArrayList<>(d.items().entrySet());
        java.util.Collections.reverse(items);
        PyDict out = new PyDict();
        for (Map.Entry<Object, Object> e : items) out.put(e.getKey(), e.getValue());
        return out;
    }

    private Path write(String name, PyObject md) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        try (var out = Files.newOutputStream(dir.resolve(".metadata"))) {
            PickleWriter w = new PickleWriter(out, 4);
            w.proto();
            w.write(md);
            w.stop();
            w.flush();
        }
        return dir;
    }

    private static Path source(String fixture) {
        Path dir = Fixtures.root().resolve(fixture);
        if (!Files.exists(dir.resolve(".metadata"))) throw new AssertionError("fixture without .metadata: " + dir);
        return dir.resolve(".metadata");
    }

    private void check(String fixture, String name, UnaryOperator<PyDict> change, boolean sameAsTorchOrder) throws IOException {
        Path source = source(fixture);
        PyObject md = (PyObject) TorchGlobals.reader(source).build().read(Files.readAllBytes(source));
        md.setState(change.apply(md.stateDict()));
        Path dir = write(fixture.replace('/', '_') + "-" + name, md);
        Path file = dir.resolve(".metadata");
        DcpMetadata fast = DcpMetadataReader.read(dir);
        DcpMetadata generic = DcpMetadataReader.decode(file, TorchGlobals.reader(file).build().read(Files.readAllBytes(file)));
        DcpMetadataFastPathTest.assertSame(file, generic, fast);
        if (sameAsTorchOrder) DcpMetadataFastPathTest.assertSame(file, DcpMetadataReader.read(source.getParent()), fast);
    }

    @Test
    void storageRecordsBeforeChunkRecords() throws IOException {
        for (String f : FIXTURES) check(f, "storage-first", s -> reordered(s, List.of("storage_data")), true);
    }

    @Test
    void storageRecordsAfterEverythingElse() throws IOException {
        for (String f : FIXTURES) {
            check(f, "storage-last", s -> {
                PyDict out = new PyDict();
                s.items().forEach((k, v) -> {
                    if (!"storage_data".equals(k)) out.put(k, v);
                });
                out.put("storage_data", s.get("storage_data"));
                return out;
            }, true);
        }
    }

    @Test
    void storageRecordsFirstAndReversed() throws IOException {
        for (String f : FIXTURES) {
            check(f, "storage-reversed", s -> {
                PyDict out = reordered(s, List.of("storage_data"));
                out.put("storage_data", reversedItems((PyDict) s.get("storage_data")));
                return out;
            }, false);
        }
    }

    /** The chunk lists reversed too: every tensor's chunks and the storage records in an order no torch writes. */
    @Test
    void chunkAndStorageRecordsReversed() throws IOException {
        for (String f : FIXTURES) {
            check(f, "all-reversed", s -> {
                PyDict out = reordered(s, List.of("storage_data"));
                out.put("storage_data", reversedItems((PyDict) s.get("storage_data")));
                for (Object v : ((PyDict) s.get("state_dict_metadata")).items().values()) {
                    if (v instanceof PyObject t && t.attr("chunks") instanceof List<?> chunks) java.util.Collections.reverse(chunks);
                }
                return out;
            }, false);
        }
    }
}
