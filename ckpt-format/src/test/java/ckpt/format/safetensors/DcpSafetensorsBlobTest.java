package ckpt.format.safetensors;

import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** DCP {@code SerializationFormat.SAFETENSORS}: one safetensors blob per {@code .distcp} file. */
class DcpSafetensorsBlobTest {
    private static final String DIR = "dcp-variety-safetensors/";

    @Test
    void blobsMatchReference() throws IOException {
        JsonNode headers = Fixtures.json(DIR + "reference/distcp_safetensors_headers.json");
        JsonNode globals = Fixtures.json(DIR + "reference/tensors.json");
        int wholeCompared = 0;
        for (String fileName : Fixtures.fieldNames(headers)) {
            JsonNode ref = headers.get(fileName);
            Path file = Fixtures.path(DIR + "checkpoint/" + fileName);
            assertThat(Files.size(file)).isEqualTo(ref.get("size").asLong());
            SafetensorsHeader h;
            // The .metadata storage records of this fixture all point at byte 0: the blob is the whole file.
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                h = SafetensorsHeader.read(file, ch, 0, ch.size());
            }
            Map<String, String> meta = new LinkedHashMap<>();
            ref.get("header_metadata").properties().forEach(e -> meta.put(e.getKey(), e.getValue().asText()));
            assertThat(h.metadata()).isEqualTo(meta).containsKey(DcpShardingInfo.KEY);

            JsonNode tensors = ref.get("tensors");
            assertThat(h.entries()).extracting(SafetensorsEntry::name)
                    .containsExactlyInAnyOrderElementsOf(Fixtures.fieldNames(tensors));
            DcpShardingInfo info = DcpShardingInfo.of(h).orElseThrow();
            assertThat(info.savedOffsets().keySet()).containsExactlyInAnyOrderElementsOf(Fixtures.fieldNames(tensors));
            try (SafetensorsFile f = SafetensorsFile.openEmbedded(file, h.blobOffset())) {
                for (SafetensorsEntry e : h.entries()) {
                    JsonNode t = tensors.get(e.name());
                    assertThat(e.dtype().torchName()).as(e.name()).isEqualTo(t.get("dtype").asText());
                    assertThat(e.shape()).as(e.name()).isEqualTo(Fixtures.longs(t.get("shape")));
                    assertThat(info.savedOffsets(e.name()).orElseThrow()).as(e.name())
                            .isEqualTo(Fixtures.longs(t.get("saved_offsets")));
                    JsonNode global = globals.get(e.name());
                    if (Arrays.equals(e.shape(), Fixtures.longs(global.get("shape")))) {
                        assertThat(Fixtures.sha256(f.data(e))).as(e.name()).isEqualTo(global.get("sha256").asText());
                        wholeCompared++;
                    }
                }
            }
        }
        assertThat(wholeCompared).isGreaterThan(15);
    }

    @Test
    void blobAtAnOffsetInsideALargerFile(@TempDir Path tmp) throws IOException {
        Path src = Fixtures.path(DIR + "checkpoint/__1_0.distcp");
        byte[] blob = Files.readAllBytes(src);
        byte[] prefix = new byte[4096 + 13]; // stands in for BYTE_IO items written before the blob
        Arrays.fill(prefix, (byte) 0x5A);
        byte[] trailer = "not part of the blob".getBytes();
        Path file = tmp.resolve("__0_0.distcp");
        Files.write(file, concat(prefix, blob, trailer));

        JsonNode globals = Fixtures.json(DIR + "reference/tensors.json");
        try (SafetensorsFile inside = SafetensorsFile.openEmbedded(file, prefix.length);
             SafetensorsFile plain = SafetensorsFile.open(src)) {
            assertThat(inside.header().blobLength()).isEqualTo(blob.length);
            assertThat(inside.header().dataStart()).isEqualTo(prefix.length + 8 + inside.header().headerLength());
            assertThat(inside.header().entries()).isEqualTo(plain.header().entries());
            String bf16 = Fixtures.sha256(inside.data("bf16"));
            assertThat(bf16).isEqualTo(globals.get("bf16").get("sha256").asText());
        }
        // Exact reading refuses the trailer; embedded reading refuses a blob cut short.
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            assertThatThrownBy(() -> SafetensorsHeader.read(file, ch, prefix.length, ch.size() - prefix.length))
                    .isInstanceOf(SafetensorsException.class).hasMessageContaining("trailing");
            assertThatThrownBy(() -> SafetensorsHeader.readEmbedded(file, ch, prefix.length, blob.length - 1))
                    .isInstanceOf(SafetensorsException.class).hasMessageContaining("truncated");
            assertThat(SafetensorsHeader.readEmbedded(file, ch, prefix.length, blob.length).blobLength())
                    .isEqualTo(blob.length);
        }
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
