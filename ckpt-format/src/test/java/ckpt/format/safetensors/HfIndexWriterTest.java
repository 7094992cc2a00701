package ckpt.format.safetensors;

import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HfIndexWriterTest {
    @Test
    void sameContentAsTheDcpHuggingFaceIndex() throws IOException {
        JsonNode index = Fixtures.json("dcp-variety-hf/checkpoint/model.safetensors.index.json");
        Map<String, String> weightMap = new LinkedHashMap<>();
        index.get("weight_map").properties().forEach(e -> weightMap.put(e.getKey(), e.getValue().asText()));
        byte[] ours = HfIndexWriter.render(index.get("metadata").get("total_size").asLong(), weightMap, Map.of());
        // DCP's writer uses json.dump(indent=2) without sort_keys and without a final newline, so only the
        // parsed content can match; the byte format is checked below against Python's json output.
        assertThat(new ObjectMapper().readTree(ours)).isEqualTo(index);
    }

    @Test
    void byteCompatibleWithPythonJsonDumpsIndent2SortKeys() {
        // Expected text produced by CPython 3: json.dumps(index, indent=2, sort_keys=True) + "\n".
        String expected = """
                {
                  "metadata": {
                    "empty": {},
                    "list": [
                      1,
                      "x",
                      null,
                      true
                    ],
                    "nested": {
                      "a": "\\u00e9",
                      "b": []
                    },
                    "total_parameters": 12,
                    "total_size": 48
                  },
                  "weight_map": {
                    "B": "m\\"q\\\\\\u0001\\u007f",
                    "a.weight": "model-00001-of-00002.safetensors",
                    "b\\u00e9": "model-00002-of-00002.safetensors",
                    "z": "model-00001-of-00002.safetensors",
                    "\\uff01": "t",
                    "\\ud83d\\ude00": "s"
                  }
                }
                """;
        Map<String, String> weightMap = new LinkedHashMap<>();
        weightMap.put("z", "model-00001-of-00002.safetensors");
        weightMap.put("b\u00e9", "model-00002-of-00002.safetensors");
        weightMap.put("B", "m\"q\\\u0001\u007f");
        weightMap.put("a.weight", "model-00001-of-00002.safetensors");
        weightMap.put("\uD83D\uDE00", "s");
        weightMap.put("\uFF01", "t");
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("total_parameters", 12);
        extra.put("list", new ArrayList<>(Arrays.asList(1L, "x", null, true)));
        extra.put("empty", Map.of());
        Map<String, Object> nested = new LinkedHashMap<>();
        nested.put("b", new ArrayList<>());
        nested.put("a", "\u00e9");
        extra.put("nested", nested);
        assertThat(new String(HfIndexWriter.render(48, weightMap, extra), StandardCharsets.US_ASCII))
                .isEqualTo(expected);
    }

    @Test
    void minimalIndex() {
        assertThat(new String(HfIndexWriter.render(0, Map.of(), null), StandardCharsets.US_ASCII))
                .isEqualTo("{\n  \"metadata\": {\n    \"total_size\": 0\n  },\n  \"weight_map\": {}\n}\n");
        assertThatThrownBy(() -> HfIndexWriter.render(1, Map.of(), Map.of("total_size", 2)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> HfIndexWriter.render(1, Map.of(), Map.of("f", 1.5)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
