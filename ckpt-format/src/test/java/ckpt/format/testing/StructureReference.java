package ckpt.format.testing;

import ckpt.format.pickle.PyBytes;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyObject;
import ckpt.format.pickle.PyTuple;
import com.fasterxml.jackson.databind.JsonNode;

import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Compares an unpickled value with the {@code "structure"} tree of a torch-save reference JSON (written by
 * PyTorch: {@code __tuple__}, {@code __bytes__}, {@code __tensor__}, {@code __type__} + {@code items} nodes).
 */
public final class StructureReference {
    /** How a reference {@code __tensor__} node is checked against whatever stands for a tensor in the caller. */
    @FunctionalInterface
    public interface TensorCheck {
        void check(JsonNode ref, Object actual, String path);
    }

    private StructureReference() {
    }

    public static void assertMatches(JsonNode ref, Object actual, String path, TensorCheck tensor) {
        if (ref.isNull()) {
            assertThat(actual).as(path).isNull();
        } else if (ref.isBoolean()) {
            assertThat(actual).as(path).isEqualTo(ref.asBoolean());
        } else if (ref.isIntegralNumber()) {
            assertThat(actual).as(path).isEqualTo(ref.canConvertToLong() ? (Object) ref.asLong() : ref.bigIntegerValue());
        } else if (ref.isFloatingPointNumber()) {
            assertThat(actual).as(path).isEqualTo(ref.asDouble());
        } else if (ref.isTextual()) {
            assertThat(actual).as(path).isEqualTo(ref.asText());
        } else if (ref.isArray()) {
            assertThat(actual).as(path).isInstanceOf(List.class);
            List<?> list = (List<?>) actual;
            assertThat(list).as(path).hasSize(ref.size());
            for (int i = 0; i < list.size(); i++) assertMatches(ref.get(i), list.get(i), path + "/" + i, tensor);
        } else if (ref.has("__tuple__")) {
            assertThat(actual).as(path).isInstanceOf(PyTuple.class);
            assertMatches(ref.get("__tuple__"), ((PyTuple) actual).items(), path, tensor);
        } else if (ref.has("__bytes__")) {
            assertThat(actual).as(path).isEqualTo(new PyBytes(HexFormat.of().parseHex(ref.get("__bytes__").asText())));
        } else if (ref.has("__tensor__")) {
            tensor.check(ref, actual, path);
        } else if (ref.has("__type__")) {
            String type = ref.get("__type__").asText();
            PyDict items;
            if (type.equals("dict") || type.equals("OrderedDict")) {
                assertThat(actual).as(path).isInstanceOf(PyDict.class);
                items = (PyDict) actual;
                assertThat(items.isOrderedDict()).as(path).isEqualTo(type.equals("OrderedDict"));
            } else {
                assertThat(actual).as(path).isInstanceOf(PyObject.class);
                assertThat(((PyObject) actual).type().toString()).as(path).isEqualTo(type);
                items = ((PyObject) actual).stateDict();
            }
            List<String> names = Fixtures.fieldNames(ref.get("items"));
            assertThat(items.items().keySet()).as(path).containsExactlyElementsOf(names);
            for (String n : names) assertMatches(ref.get("items").get(n), items.get(n), path + "/" + n, tensor);
        } else {
            throw new AssertionError("unexpected reference node at " + path + ": " + ref);
        }
    }
}
