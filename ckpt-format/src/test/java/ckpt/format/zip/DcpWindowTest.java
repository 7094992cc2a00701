package ckpt.format.zip;

import ckpt.format.testing.Fixtures;
import ckpt.format.tensor.DType;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Each DCP storage record is a complete torch.save zip at (offset, length) of its {@code .distcp}; every one is opened
 * as its own archive from the offsets in the fixtures' {@code reference/dcp_metadata.json}.
 */
class DcpWindowTest {
    @ParameterizedTest
    @ValueSource(strings = {"dcp-variety", "megatron-llama-tp2/checkpoint/iter_0000004"})
    void everyStorageRecordOpensAsItsOwnArchive(String dir) throws Exception {
        String refDir = dir.startsWith("megatron") ? "megatron-llama-tp2/reference/iter_0000004" : dir + "/reference";
        Path ckpt = Fixtures.path(dir.startsWith("megatron") ? dir : dir + "/checkpoint");
        JsonNode meta = Fixtures.json(refDir + "/dcp_metadata.json");
        int tensors = 0, objects = 0;
        try (Arena arena = Arena.ofConfined()) {
            for (JsonNode rec : meta.get("storage_data")) {
                Path file = ckpt.resolve(rec.get("storage_relative_path").asText());
                long offset = rec.get("storage_offset").asLong(), length = rec.get("storage_length").asLong();
                ZipArchive zip = ZipArchive.open(file, offset, Fixtures.map(file, offset, length, arena));
                assertThat(zip.prefix()).isEqualTo("archive");
                assertThat(zip.archiveStart()).isZero();
                assertThat(zip.entry("archive/data.pkl")).isPresent();
                long storageBytes = 0;
                for (ZipEntryInfo e : zip.entries()) {
                    assertThat(e.isStored()).isTrue();
                    assertThat(zip.crc32(e)).as(rec.get("fqn").asText() + " " + e.name()).isEqualTo(e.crc());
                    assertThat(e.dataOffset() % 64).as("alignment relative to the item offset").isZero();
                    if (e.name().startsWith("archive/data/")) storageBytes += e.size();
                }
                if (rec.get("offset").isNull()) {
                    objects++;
                } else {
                    tensors++;
                    // the chunk is saved alone (cloned if it was a view), so its storage holds exactly the chunk
                    assertThat(storageBytes).as(rec.get("fqn").asText()).isEqualTo(chunkBytes(meta, rec));
                }
            }
        }
        assertThat(tensors).isPositive();
        assertThat(objects).isPositive();
    }

    /** A whole .distcp is a concatenation of archives: as one zip, only the last one is visible (not an error). */
    @Test
    void wholeDistcpShowsOnlyItsLastArchive() throws Exception {
        JsonNode meta = Fixtures.json("dcp-variety/reference/dcp_metadata.json");
        Path file = Fixtures.path("dcp-variety/checkpoint/__0_0.distcp");
        long lastOffset = -1;
        for (JsonNode rec : meta.get("storage_data"))
            if (rec.get("storage_relative_path").asText().equals("__0_0.distcp"))
                lastOffset = Math.max(lastOffset, rec.get("storage_offset").asLong());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment whole = Fixtures.map(file, arena);
            ZipArchive zip = ZipArchive.open(file, whole);
            assertThat(lastOffset).isPositive();
            assertThat(zip.archiveStart()).isEqualTo(lastOffset);
            ZipArchive last = ZipArchive.open(file, lastOffset, whole.asSlice(lastOffset, Files.size(file) - lastOffset));
            assertThat(zip.entries()).hasSameSizeAs(last.entries());
            for (int i = 0; i < last.entries().size(); i++) {
                ZipEntryInfo a = zip.entries().get(i), b = last.entries().get(i);
                assertThat(a.name()).isEqualTo(b.name());
                assertThat(a.dataOffset()).isEqualTo(lastOffset + b.dataOffset());
                assertThat(zip.crc32(a)).isEqualTo(a.crc());
            }
        }
    }

    private static long chunkBytes(JsonNode meta, JsonNode rec) {
        JsonNode md = meta.get("state_dict_metadata").get(rec.get("fqn").asText());
        DType dtype = DType.fromTorchName(md.get("dtype").asText()).orElseThrow();
        for (JsonNode chunk : md.get("chunks")) {
            if (chunk.get("offsets").equals(rec.get("offset"))) {
                long n = dtype.byteSize();
                for (JsonNode s : chunk.get("sizes")) n *= s.asLong();
                return n;
            }
        }
        throw new AssertionError("no chunk at " + rec.get("offset") + " for " + rec.get("fqn"));
    }

    /** Megatron 8B items: one whole small item and the head/tail of a 117 MB one, against items_zip_layout. */
    @Test
    void megatron8bItemsMatchTheirRecordedLayout() throws Exception {
        Path small = Fixtures.path("megatron-llama3-8b-meta/reference/item_small.bin");
        JsonNode smallRef = Fixtures.json("megatron-llama3-8b-meta/reference/item_small.json");
        try (Arena arena = Arena.ofConfined()) {
            ZipArchive zip = ZipArchive.open(small, Fixtures.map(small, arena));
            checkLayout(zip, smallRef.get("layout"));
            for (ZipEntryInfo e : zip.entries()) assertThat(zip.crc32(e)).isEqualTo(e.crc());
            assertThat(zip.entry("archive/data/0").orElseThrow().size()).isEqualTo(smallRef.get("payload_bytes").asLong());
        }
    }

    @Test
    void megatron8bLargeItemRebuiltSparse(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        JsonNode ref = Fixtures.json("megatron-llama3-8b-meta/reference/item_large.json");
        long length = ref.get("length").asLong();
        byte[] head = Files.readAllBytes(Fixtures.path("megatron-llama3-8b-meta/reference/item_large_head64k.bin"));
        byte[] tail = Files.readAllBytes(Fixtures.path("megatron-llama3-8b-meta/reference/item_large_tail64k.bin"));
        Path file = tmp.resolve("item_large.sparse");
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(head), 0);
            ch.write(java.nio.ByteBuffer.wrap(tail), length - tail.length);
        }
        try (Arena arena = Arena.ofConfined()) {
            ZipArchive zip = ZipArchive.open(file, Fixtures.map(file, arena));
            checkLayout(zip, ref.get("layout"));
            assertThat(zip.entry("archive/data/0").orElseThrow().size()).isEqualTo(ref.get("payload_bytes").asLong());
            for (ZipEntryInfo e : zip.entries()) {
                boolean inProbe = e.dataOffset() + e.size() <= head.length || e.dataOffset() >= length - tail.length;
                if (inProbe) assertThat(zip.crc32(e)).as(e.name()).isEqualTo(e.crc());
            }
        }
    }

    private static void checkLayout(ZipArchive zip, JsonNode layout) {
        Map<String, ZipEntryInfo> seen = new HashMap<>();
        for (ZipEntryInfo e : zip.entries()) seen.put(e.name(), e);
        assertThat(zip.entries()).hasSize(layout.get("members").size());
        int i = 0;
        for (JsonNode m : layout.get("members")) {
            ZipEntryInfo e = zip.entries().get(i++);
            assertThat(e.name()).isEqualTo(m.get("name").asText());
            assertThat(e.size()).isEqualTo(m.get("file_size").asLong());
            assertThat(e.localHeaderOffset()).isEqualTo(m.get("header_offset").asLong());
            assertThat(e.dataOffset()).isEqualTo(m.get("data_offset").asLong());
        }
    }
}
