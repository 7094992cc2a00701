package ckpt.format.dcp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ckpt.format.FormatException;
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
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fast path of {@link DcpMetadataReader} (records written to columns at BUILD, equal values shared, only the
 * memo entries read back kept) must decode every real {@code .metadata} exactly as the generic path does: plain
 * pickle value graph, then {@link DcpMetadataReader#decode} — every tensor's key, dtype, shape and chunks with their
 * storage records (file, offset, length), and the storage map itself.
 */
class DcpMetadataFastPathTest {
    static List<Path> metadataFiles() throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path root : List.of(Fixtures.root(), Path.of("/work/shared/testdata-real"))) {
            if (!Files.isDirectory(root)) continue;
            try (Stream<Path> s = Files.walk(root)) {
                s.filter(p -> p.getFileName().toString().equals(".metadata")).sorted().forEach(out::add);
            }
        }
        return out;
    }

    @Test
    void fastPathEqualsGenericPathOnEveryFixture() throws IOException {
        List<Path> files = metadataFiles();
        assertFalse(files.size() < 5, "fixtures not found: " + files);
        for (Path file : files) {
            DcpMetadata fast = DcpMetadataReader.read(file.getParent());
            DcpMetadata generic = DcpMetadataReader.decode(file, TorchGlobals.reader(file).build().read(Files.readAllBytes(file)));
            assertSame(file, generic, fast);
        }
    }

    @TempDir
    Path tmp;

    /**
     * A MetadataIndex → _StorageInfo item is what the reader's sink takes out of {@code storage_data}; the same item
     * first in another dict (state_dict_metadata, planner_data, mcore_data, the Metadata state itself) must not make
     * that dict's items disappear: decoded as on the generic path, or the same error.
     */
    @Test
    void storageRecordItemsOutsideStorageDataDecodeAsOnTheGenericPath() throws IOException {
        Path source = Fixtures.root().resolve("dcp-variety/checkpoint/.metadata");
        for (String where : List.of("state_dict_metadata", "planner_data", "mcore_data", "")) {
            PyObject md = (PyObject) TorchGlobals.reader(source).build().read(Files.readAllBytes(source));
            PyDict state = md.stateDict();
            Map.Entry<Object, Object> item = ((PyDict) state.get("storage_data")).items().entrySet().iterator().next();
            PyDict target = where.isEmpty() ? state : state.get(where) instanceof PyDict d ? d : new PyDict();
            PyDict withItemFirst = new PyDict();
            withItemFirst.put(item.getKey(), item.getValue());
            target.items().forEach(withItemFirst::put);
            if (where.isEmpty()) md.setState(withItemFirst);
            else state.put(where, withItemFirst);
            if (where.equals("mcore_data")) withItemFirst.put("w", new PyDict()); // an entry after the item

            Path dir = Files.createDirectories(tmp.resolve(where.isEmpty() ? "state" : where));
            Path file = dir.resolve(".metadata");
            try (var out = Files.newOutputStream(file)) {
                PickleWriter w = new PickleWriter(out, 4);
                w.proto();
                w.write(md);
                w.stop();
                w.flush();
            }
            String expected, actual;
            DcpMetadata generic = null, fast = null;
            try {
                generic = DcpMetadataReader.decode(file, TorchGlobals.reader(file).build().read(Files.readAllBytes(file)));
                expected = "decoded";
            } catch (FormatException e) {
                expected = e.getMessage();
            }
            try {
                fast = DcpMetadataReader.read(dir);
                actual = "decoded";
            } catch (FormatException e) {
                actual = e.getMessage();
            }
            assertEquals(expected, actual, where);
            if (generic != null) assertSame(file, generic, fast);
        }
    }

    static void assertSame(Path file, DcpMetadata expected, DcpMetadata actual) {
        String f = file.toString();
        assertEquals(expected.metadataClass(), actual.metadataClass(), f);
        assertEquals(List.copyOf(expected.tensors().keySet()), List.copyOf(actual.tensors().keySet()), f);
        for (var e : expected.tensors().entrySet()) {
            TensorStorageMetadata x = e.getValue();
            TensorStorageMetadata y = actual.tensors().get(e.getKey());
            assertEquals(x.dtype(), y.dtype(), e.getKey());
            assertArrayEquals(x.size(), y.size(), e.getKey());
            assertEquals(x.chunks().size(), y.chunks().size(), e.getKey());
            for (int i = 0; i < x.chunks().size(); i++) {
                assertArrayEquals(x.chunks().get(i).box().offsets(), y.chunks().get(i).box().offsets(), e.getKey());
                assertArrayEquals(x.chunks().get(i).box().sizes(), y.chunks().get(i).box().sizes(), e.getKey());
                assertEquals(x.chunks().get(i).storage(), y.chunks().get(i).storage(), e.getKey());
                assertEquals(expected.storageOf(e.getKey(), x.chunks().get(i)), actual.storageOf(e.getKey(), y.chunks().get(i)), e.getKey());
            }
        }
        assertEquals(expected.bytesItems(), actual.bytesItems(), f);
        assertEquals(expected.storage(), actual.storage(), f);
        assertEquals(expected.storage().size(), actual.storage().size(), f);
        // each file's furthest record end, from the columns, equals the one from the storage records themselves
        java.util.Map<String, Long> ends = new java.util.LinkedHashMap<>();
        for (StorageInfo s : expected.storage().values()) ends.merge(s.relativePath(), s.end(), Math::max);
        assertEquals(List.copyOf(ends.entrySet()), List.copyOf(actual.recordEnds().entrySet()), f);
        for (String b : expected.bytesItems()) assertEquals(expected.storageOf(b), actual.storageOf(b), b);
        assertEquals(expected.plannerData(), actual.plannerData(), f);
        assertEquals(expected.version(), actual.version(), f);
        assertEquals(expected.checkpointId(), actual.checkpointId(), f);
        assertEquals(expected.saveId(), actual.saveId(), f);
        assertEquals(String.valueOf(expected.mcoreData()), String.valueOf(actual.mcoreData()), f);
        assertEquals(expected.hasAllLocalPlans(), actual.hasAllLocalPlans(), f);
    }
}
