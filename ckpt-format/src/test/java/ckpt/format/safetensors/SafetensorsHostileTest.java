package ckpt.format.safetensors;

import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

/** Damaged and hostile inputs: each must end in one {@link SafetensorsException} with a one-line message. */
class SafetensorsHostileTest {
    @TempDir
    Path tmp;

    private Path file(long headerLength, byte[] header, int dataBytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength).put(header);
        Path p = Files.createTempFile(tmp, "h", ".safetensors");
        Files.write(p, b.array());
        return p;
    }

    private Path file(String json, int dataBytes) throws IOException {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        return file(h.length, h, dataBytes);
    }

    private static String rejected(Path p) {
        Throwable t = catchThrowable(() -> {
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                f.header();
            }
        });
        assertThat(t).isInstanceOf(SafetensorsException.class);
        assertThat(t.getMessage()).startsWith(p.toString()).doesNotContain("\n");
        return t.getMessage();
    }

    @Test
    void headerLengthsBeyondLimitsOrFile() throws IOException {
        assertThat(rejected(file(1L << 40, new byte[0], 0))).contains("1099511627776").contains("limit");
        assertThat(rejected(file(-1L, new byte[0], 0))).contains("18446744073709551615");
        assertThat(rejected(file(100_000_001L, new byte[16], 0))).contains("limit");
        assertThat(rejected(file(1000, "{}".getBytes(), 0))).contains("runs past the end");
        Path tiny = tmp.resolve("tiny");
        Files.write(tiny, new byte[]{2, 0, 0});
        assertThat(rejected(tiny)).contains("at least 8");
        Path empty = tmp.resolve("empty");
        Files.write(empty, new byte[0]);
        rejected(empty);
    }

    @ParameterizedTest
    @ValueSource(strings = {"[1,2]", "\"str\"", "123", "null", "", "   ", "{\"a\":1", "{} x", "{}{}", "{'a':1}",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}", "\uFEFF{}"})
    void notASafetensorsJsonObject(String json) throws IOException {
        rejected(file(json, 0));
    }

    @Test
    void deeplyNestedJson() throws IOException {
        String deep = "[".repeat(100_000);
        rejected(file(deep, 0));
        rejected(file("{\"a\":" + deep, 0));
        rejected(file("{\"__metadata__\":{\"k\":" + deep, 0));
        rejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":" + deep, 0));
        rejected(file("{\"a\":{\"dtype\":\"F32\",\"x\":" + "{\"y\":".repeat(50_000), 0));
    }

    @Test
    void invalidUtf8() throws IOException {
        byte[] h = "{\"\u00e9\":{}}".getBytes(StandardCharsets.UTF_8);
        h[3] = (byte) 0xFF;
        assertThat(rejected(file(h.length, h, 0))).contains("UTF-8");
    }

    private static String entry(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin
                + "," + end + "]}";
    }

    @Test
    void offsetsThatDoNotTileTheBuffer() throws IOException {
        assertThat(rejected(file("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}", 12)))
                .contains("overlaps").contains("'b'");
        assertThat(rejected(file("{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 8, 12) + "}", 12)))
                .contains("hole").contains("'b'");
        assertThat(rejected(file("{" + entry("a", "F32", "[1]", 4, 8) + "}", 8))).contains("hole");
        assertThat(rejected(file("{" + entry("a", "F32", "[4]", 0, 16) + "}", 8))).contains("truncated");
        assertThat(rejected(file("{" + entry("a", "F32", "[1]", 0, 4) + "}", 5))).contains("trailing");
        assertThat(rejected(file("{" + entry("a", "F32", "[1]", 8, 4) + "}", 4))).contains("before begin");
        // Aliasing: two names for the same bytes.
        assertThat(rejected(file("{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 0, 4) + "}", 4)))
                .contains("overlaps");
    }

    @Test
    void sizesThatDisagreeOrOverflow() throws IOException {
        assertThat(rejected(file("{" + entry("a", "F32", "[2]", 0, 4) + "}", 4))).contains("'a'").contains("needs 8");
        assertThat(rejected(file("{" + entry("a", "F32", "[4294967296,4294967296,4294967296]", 0, 4) + "}", 4)))
                .contains("overflow");
        assertThat(rejected(file("{" + entry("a", "F64", "[4611686018427387904]", 0, 4) + "}", 4)))
                .contains("overflow");
        assertThat(rejected(file("{" + entry("a", "F32", "[-1]", 0, 0) + "}", 0))).contains("negative");
        assertThat(rejected(file("{" + entry("a", "F32", "[2.0]", 0, 8) + "}", 8))).contains("non-integer");
        assertThat(rejected(file("{" + entry("a", "F32", "[\"2\"]", 0, 8) + "}", 8))).contains("non-integer");
        assertThat(rejected(file("{" + entry("a", "F32", "[100000000000000000000000000000]", 0, 8) + "}", 8)))
                .contains("too large");
        assertThat(rejected(file("{" + entry("a", "F32", "[" + "1,".repeat(300) + "1]", 0, 4) + "}", 4)))
                .contains("more than");
        assertThat(rejected(file("{" + entry("a", "F32", "2", 0, 8) + "}", 8))).contains("not an array");
    }

    @ParameterizedTest
    @CsvSource({"F128,unknown dtype 'F128'", "f32,unknown dtype 'f32'", "F4,unsupported by ckpt",
            "F6_E2M3,unsupported by ckpt", "F6_E3M2,unsupported by ckpt"})
    void dtypes(String dtype, String message) throws IOException {
        assertThat(rejected(file("{" + entry("a", dtype, "[8]", 0, 8) + "}", 8))).contains(message).contains("'a'");
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}",
            "{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}",
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}",
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"extra\":1}}",
            "{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,1]}}",
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1]}}",
            "{\"a\":{\"dtype\":8,\"shape\":[1],\"data_offsets\":[0,1]}}",
            "{\"a\":[]}",
            "{\"a\":\"x\"}",
            "{\"__metadata__\":{\"k\":1}}",
            "{\"__metadata__\":{\"k\":null}}",
            "{\"__metadata__\":{\"k\":{\"n\":\"v\"}}}",
            "{\"__metadata__\":[\"k\"]}",
            "{\"__metadata__\":\"k\"}",
            "{\"__metadata__\":{},\"__metadata__\":{}}"})
    void schemaViolations(String json) throws IOException {
        rejected(file(json, 1));
    }

    @Test
    void namesFromTheFileCannotBreakTheMessageLine() throws IOException {
        String msg = rejected(file("{\"line\\nbreak\u2028" + "x".repeat(5000) + "\":{\"dtype\":\"Q\"}}", 0));
        assertThat(msg).contains("'line\\u000abreak\\u2028xxx").contains("(5011 chars)").hasSizeLessThan(600);
    }

    @Test
    void legalCornerCasesStillParse() throws IOException {
        // No padding (pre-0.3.1 files), keys in any order, empty and 0-dim tensors, null metadata, empty file.
        Path p = file("{" + entry("z", "U8", "[0,3]", 0, 0) + "," + entry("s", "F32", "[]", 0, 4)
                + ",\"__metadata__\":null}", 4);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertThat(f.header().entries()).extracting(SafetensorsEntry::name).containsExactly("z", "s");
            assertThat(f.header().metadata()).isEmpty();
        }
        try (SafetensorsFile f = SafetensorsFile.open(file("{}", 0))) {
            assertThat(f.header().entries()).isEmpty();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"torch-save/reference/zip_single_tensor.pt.safetensors",
            "dcp-variety-hf/checkpoint/model-00001-of-00001.safetensors"})
    void truncatedAtEveryByte(String relative) throws IOException {
        byte[] whole = Files.readAllBytes(Fixtures.path(relative));
        Path p = tmp.resolve("cut.safetensors");
        for (int n = 0; n < whole.length; n++) {
            Files.write(p, Arrays.copyOf(whole, n));
            rejected(p);
        }
        Files.write(p, whole);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertThat(f.header().blobLength()).isEqualTo(whole.length);
        }
    }

    @Test
    void everyByteCorruptedOpensOrFailsCleanly() throws IOException {
        byte[] whole = Files.readAllBytes(Fixtures.path("torch-save/reference/zip_single_tensor.pt.safetensors"));
        Path p = tmp.resolve("flip.safetensors");
        int rejectedCount = 0;
        for (int i = 0; i < whole.length; i++) {
            for (int v : new int[]{0x00, 0x22, 0x2C, 0x5B, 0x7B, 0x7D, 0x80, 0xFF}) {
                byte[] b = whole.clone();
                b[i] = (byte) v;
                Files.write(p, b);
                try (SafetensorsFile f = SafetensorsFile.open(p)) {
                    assertThat(f.header().blobLength()).isEqualTo(whole.length);
                } catch (SafetensorsException e) {
                    assertThat(e.getMessage()).doesNotContain("\n");
                    rejectedCount++;
                }
            }
        }
        assertThat(rejectedCount).isGreaterThan(whole.length);
    }

    @Test
    void regionOutsideTheFile() throws IOException {
        Path p = file("{}", 0);
        try (var ch = java.nio.channels.FileChannel.open(p)) {
            assertThatThrownBy(() -> SafetensorsHeader.read(p, ch, 4, 100)).isInstanceOf(SafetensorsException.class);
            assertThatThrownBy(() -> SafetensorsHeader.read(p, ch, -1, 4)).isInstanceOf(SafetensorsException.class);
            assertThatThrownBy(() -> SafetensorsHeader.readEmbedded(p, ch, 20, 0)).isInstanceOf(SafetensorsException.class);
        }
    }

    @Test
    void hostileIndexFiles() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("hf"));
        Files.copy(Fixtures.path("torch-save/reference/zip_single_tensor.pt.safetensors"), dir.resolve("s.safetensors"));
        String[] bad = {
                "[]", "{}", "{\"weight_map\":[]}", "{\"weight_map\":{\"<root>\":1}}",
                "{\"weight_map\":{\"<root>\":\"../s.safetensors\"}}", "{\"weight_map\":{\"<root>\":\"/etc/passwd\"}}",
                "{\"weight_map\":{\"<root>\":\"missing.safetensors\"}}", "{\"weight_map\":{}} x",
                "{\"metadata\":3,\"weight_map\":{}}", "{\"weight_map\":" + "[".repeat(100_000)};
        for (String json : bad) {
            Files.writeString(dir.resolve(ShardedSafetensors.INDEX_FILE), json);
            Throwable t = catchThrowable(() -> ShardedSafetensors.open(dir).close());
            assertThat(t).as(json).isInstanceOf(SafetensorsException.class);
            assertThat(t.getMessage()).as(json).doesNotContain("\n");
        }
        Files.writeString(dir.resolve(ShardedSafetensors.INDEX_FILE),
                "{\"metadata\":{\"total_size\":28},\"weight_map\":{\"<root>\":\"s.safetensors\"}}");
        try (ShardedSafetensors s = ShardedSafetensors.open(dir)) {
            assertThat(s.tensor("<root>").entry().byteLength()).isEqualTo(28);
        }
        Files.delete(dir.resolve(ShardedSafetensors.INDEX_FILE));
        assertThatThrownBy(() -> ShardedSafetensors.open(dir)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining("neither");
    }
}
