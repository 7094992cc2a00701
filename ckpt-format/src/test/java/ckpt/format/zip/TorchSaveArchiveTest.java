package ckpt.format.zip;

import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipFile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Whole {@code torch.save} files written by PyTorch 2.11, checked against {@code reference/structure.json}. */
class TorchSaveArchiveTest {
    private static final JsonNode STRUCTURE = Fixtures.json("torch-save/reference/structure.json");

    @ParameterizedTest
    @ValueSource(strings = {"zip_dtypes.pt", "zip_module_state.pt", "zip_nested.pt", "zip_single_tensor.pt"})
    void matchesReferenceStructure(String name) throws Exception {
        Path file = Fixtures.path("torch-save/files/" + name);
        JsonNode ref = STRUCTURE.get(name);
        try (Arena arena = Arena.ofConfined()) {
            ZipArchive zip = ZipArchive.open(file, Fixtures.map(file, arena));
            List<String> names = new ArrayList<>();
            for (JsonNode m : ref.get("members")) names.add(m.get("name").asText());
            assertThat(zip.entries()).extracting(ZipEntryInfo::name).containsExactlyElementsOf(names);
            assertThat(zip.prefix()).isEqualTo(name.substring(0, name.length() - 3));
            assertThat(zip.archiveStart()).isZero();

            int i = 0;
            for (JsonNode m : ref.get("members")) {
                ZipEntryInfo e = zip.entries().get(i++);
                assertThat(e.method()).isEqualTo(m.get("compress_type").asInt());
                assertThat(e.size()).isEqualTo(m.get("file_size").asLong());
                assertThat(e.compressedSize()).isEqualTo(e.size());
                assertThat(e.localHeaderOffset()).isEqualTo(m.get("header_offset").asLong());
                assertThat(e.dataOffset()).as(e.name()).isEqualTo(m.get("data_offset").asLong());
                if (e.name().startsWith(zip.prefix() + "/data/")) assertThat(e.dataOffset() % 64).isZero();
                assertThat(zip.crc32(e)).as("CRC of " + e.name()).isEqualTo(e.crc());
            }
            assertThat(text(zip, zip.prefix() + "/version")).isEqualTo(ref.get("version").asText());
            assertThat(text(zip, zip.prefix() + "/byteorder")).isEqualTo(ref.get("byteorder").asText());
            assertThat(zip.entry(zip.prefix() + "/nope")).isEmpty();
        }
    }

    /** The CRCs in the central directory also agree with the JDK's own zip reader (an independent parser). */
    @ParameterizedTest
    @ValueSource(strings = {"zip_dtypes.pt", "zip_nested.pt"})
    void agreesWithJdkZipFile(String name) throws Exception {
        Path file = Fixtures.path("torch-save/files/" + name);
        try (Arena arena = Arena.ofConfined(); ZipFile jdk = new ZipFile(file.toFile())) {
            ZipArchive zip = ZipArchive.open(file, Fixtures.map(file, arena));
            for (ZipEntryInfo e : zip.entries()) {
                var j = jdk.getEntry(e.name());
                assertThat(j.getCrc()).isEqualTo(e.crc());
                assertThat(j.getSize()).isEqualTo(e.size());
                try (var in = jdk.getInputStream(j)) {
                    assertThat(zip.data(e).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(in.readAllBytes());
                }
            }
        }
    }

    @Test
    void legacyNonZipIsRejectedAsNotAZip() {
        Path file = Fixtures.path("torch-save/files/legacy_nonzip.pt");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = Fixtures.map(file, arena);
            assertThatThrownBy(() -> ZipArchive.open(file, seg))
                    .isInstanceOf(ZipFormatException.class)
                    .hasMessageContaining("not a zip archive")
                    .hasMessageContaining("legacy")
                    .hasMessageContaining(file.toString());
        }
    }

    private static String text(ZipArchive zip, String entry) {
        return new String(zip.data(zip.entry(entry).orElseThrow()).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII);
    }
}
