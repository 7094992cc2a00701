package ckpt.format.safetensors;

import ckpt.format.testing.Fixtures;
import ckpt.format.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafetensorsWriterTest {

    /**
     * Re-writes the tensors of a file the Python safetensors library wrote, adding them in reverse order so the
     * writer's own sort decides the layout, and expects the identical file. Files without metadata (or with one
     * key) are fully reproducible; for multi-key metadata the file's own key order is given to the writer, since
     * the reference writes a hash map's order.
     */
    @ParameterizedTest
    @ValueSource(strings = {
            "torch-save/reference/zip_dtypes.pt.safetensors",
            "torch-save/reference/zip_nested.pt.safetensors",
            "torch-save/reference/zip_single_tensor.pt.safetensors",
            "torch-save/reference/zip_module_state.pt.safetensors",
            "torch-save/reference/legacy_nonzip.pt.safetensors",
            "dcp-variety-hf/checkpoint/model-00001-of-00001.safetensors",
            "deepspeed-zero1-gpt2-fp16/reference/logits.safetensors",
            "deepspeed-zero3-llama-dp2/reference/logits.safetensors"})
    void rewritesReferenceFilesByteForByte(String relative, @TempDir Path tmp) throws IOException {
        Path original = Fixtures.path(relative);
        Path copy = tmp.resolve("out.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(original)) {
            SafetensorsWriter w = f.header().metadata().isEmpty() ? new SafetensorsWriter()
                    : new SafetensorsWriter(f.header().metadata());
            List<SafetensorsEntry> reversed = new ArrayList<>(f.header().entries());
            Collections.reverse(reversed);
            for (SafetensorsEntry e : reversed) w.add(e.name(), e.dtype(), e.shape());
            SafetensorsWriter.Layout layout = w.layout();
            assertThat(layout.fileLength()).isEqualTo(Files.size(original));
            byte[] head = Files.readAllBytes(original);
            assertThat(layout.headerBytes()).isEqualTo(Arrays.copyOf(head, layout.headerBytes().length));
            w.write(copy, f::data);
        }
        assertThat(Files.mismatch(original, copy)).isEqualTo(-1L);
    }

    @Test
    void headerMatchesTheSpecByHand(@TempDir Path tmp) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter(Map.of("format", "pt"));
        w.add("b", DType.BFLOAT16, new long[]{2, 3});
        w.add("a", DType.FLOAT32, new long[]{});
        w.add("empty", DType.FLOAT16, new long[]{0, 4});
        w.add("c", DType.INT64, new long[]{2});
        w.add("d", DType.BOOL, new long[]{3});
        w.add("e", DType.FLOAT8_E4M3FN, new long[]{1});
        w.add("f", DType.UINT8, new long[]{1});
        // Derived from FORMATS.md §5.1: __metadata__ first; I64 > F32 > BF16 > F16 > F8_E4M3 > U8 > BOOL;
        // compact JSON; 428 bytes padded with 4 spaces to 432.
        String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"c\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[16,20]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[20,32]},"
                + "\"empty\":{\"dtype\":\"F16\",\"shape\":[0,4],\"data_offsets\":[32,32]},"
                + "\"e\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[32,33]},"
                + "\"f\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[33,34]},"
                + "\"d\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[34,37]}}    ";
        byte[] expected = ByteBuffer.allocate(8 + 432).order(ByteOrder.LITTLE_ENDIAN).putLong(432)
                .put(json.getBytes(StandardCharsets.US_ASCII)).array();
        SafetensorsWriter.Layout layout = w.layout();
        assertThat(new String(layout.headerBytes(), 8, 432, StandardCharsets.US_ASCII)).isEqualTo(json);
        assertThat(layout.headerBytes()).isEqualTo(expected);
        assertThat(layout.absoluteOffsets()).containsExactly(
                Map.entry("c", 440L), Map.entry("a", 456L), Map.entry("b", 460L), Map.entry("empty", 472L),
                Map.entry("e", 472L), Map.entry("f", 473L), Map.entry("d", 474L));
        assertThat(layout.fileLength()).isEqualTo(440 + 37);

        // Distinct bytes per tensor, read back through our reader.
        Map<String, byte[]> data = new LinkedHashMap<>();
        int[] sizes = {16, 4, 12, 0, 1, 1, 3};
        String[] names = {"c", "a", "b", "empty", "e", "f", "d"};
        for (int i = 0; i < names.length; i++) {
            byte[] b = new byte[sizes[i]];
            Arrays.fill(b, (byte) (i + 1));
            data.put(names[i], b);
        }
        Path out = tmp.resolve("t.safetensors");
        w.write(out, n -> MemorySegment.ofArray(data.get(n)));
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            assertThat(f.header().metadata()).containsExactly(Map.entry("format", "pt"));
            assertThat(f.header().entry("a").orElseThrow().shape()).isEmpty();
            assertThat(f.header().entry("empty").orElseThrow().byteLength()).isZero();
            for (String n : names) {
                assertThat(f.data(n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).as(n).isEqualTo(data.get(n));
            }
        }
    }

    @Test
    void escapesAndSortsLikeSerdeJson() {
        SafetensorsWriter w = new SafetensorsWriter(Map.of("k", "v\"\\\u0001é"));
        w.add("\uD83D\uDE00", DType.UINT8, new long[]{1}); // U+1F600, after U+FF01 in code-point order
        w.add("\uFF01", DType.UINT8, new long[]{1});
        w.add("a\"b\\c\nd\te\u001f", DType.UINT8, new long[]{1});
        String header = new String(w.layout().headerBytes(), 8, w.layout().headerBytes().length - 8,
                StandardCharsets.UTF_8).stripTrailing();
        assertThat(header).isEqualTo("{\"__metadata__\":{\"k\":\"v\\\"\\\\\\u0001é\"},"
                + "\"a\\\"b\\\\c\\nd\\te\\u001f\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                + "\"\uFF01\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]},"
                + "\"\uD83D\uDE00\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]}}");
    }

    @Test
    void emptyFileAndNoMetadata() {
        SafetensorsWriter.Layout l = new SafetensorsWriter().layout();
        // The reference's test_empty: {} padded to 8.
        assertThat(l.headerBytes()).containsExactly(8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' ');
        assertThat(l.fileLength()).isEqualTo(16);
        assertThat(l.absoluteOffsets()).isEmpty();
    }

    @Test
    void refusesWhatSafetensorsCannotHold(@TempDir Path tmp) {
        SafetensorsWriter w = new SafetensorsWriter();
        assertThatThrownBy(() -> w.add("z", DType.COMPLEX128, new long[]{1})).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.add("__metadata__", DType.UINT8, new long[]{1}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.add("neg", DType.UINT8, new long[]{-1})).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.add("bad\uD800", DType.UINT8, new long[]{1}))
                .isInstanceOf(IllegalArgumentException.class);
        w.add("x", DType.FLOAT32, new long[]{2});
        assertThatThrownBy(() -> w.add("x", DType.FLOAT32, new long[]{2})).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.add("huge", DType.FLOAT64, new long[]{1L << 40, 1L << 40}))
                .isInstanceOf(ArithmeticException.class);
        assertThatThrownBy(() -> w.write(tmp.resolve("x.safetensors"), n -> MemorySegment.ofArray(new byte[7])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs 8 bytes");
    }
}
