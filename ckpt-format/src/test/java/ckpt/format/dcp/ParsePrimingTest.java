package ckpt.format.dcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ckpt.format.pickle.PickleAudit;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The primer read before a large {@code .metadata} ({@link ParsePriming}): it is what its generator writes, it holds
 * what it must cover for the compiled parse code, and reading it changes nothing a later read returns or audits.
 */
class ParsePrimingTest {
    @TempDir
    Path tmp;

    private static byte[] resource() throws IOException {
        try (InputStream in = ParsePriming.class.getResourceAsStream(ParsePriming.RESOURCE)) {
            assertNotNull(in, "primer resource missing");
            return in.readAllBytes();
        }
    }

    /** The bytes in the jar are the generator's; on a change of the writer or the generator, regenerate them. */
    @Test
    void resourceIsWhatTheGeneratorWrites() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ParsePriming.primer(ParsePriming.TENSORS).write(out);
        byte[] expected = out.toByteArray();
        if (!java.util.Arrays.equals(expected, resource())) {
            Path fresh = Path.of("target", ParsePriming.RESOURCE);
            Files.write(fresh, expected);
            throw new AssertionError("src/main/resources/ckpt/format/dcp/" + ParsePriming.RESOURCE + " is stale: copy "
                    + fresh.toAbsolutePath() + " over it");
        }
    }

    /** Both record kinds, chunk ranks 1–3, offsets past 2^16, 2^24 and 2^31, memo indices past 255. */
    @Test
    void primerCoversWhatTheLargeFilesHold() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("primer"));
        Files.write(dir.resolve(".metadata"), resource());
        DcpMetadata md = DcpMetadataReader.read(dir);
        int chunks = 0;
        boolean[] ranks = new boolean[4];
        for (TensorStorageMetadata t : md.tensors().values()) {
            ranks[t.size().length] = true;
            chunks += t.chunks().size();
        }
        assertEquals(ParsePriming.primer(ParsePriming.TENSORS).chunkCount(), chunks);
        assertTrue(ranks[1] && ranks[2] && ranks[3], "ranks 1-3");
        assertEquals(chunks + md.bytesItems().size(), md.storageRecordCount());
        assertTrue(md.storage().values().stream().anyMatch(s -> s.offset() > Integer.MAX_VALUE), "an offset past 2^31");
        assertTrue(md.storage().values().stream().anyMatch(s -> s.offset() > 1 << 16 && s.offset() < 1 << 24), "an offset past 2^16");
        assertTrue(md.storage().values().stream().anyMatch(s -> s.offset() > 1 << 24 && s.offset() < Integer.MAX_VALUE), "an offset past 2^24");
        assertTrue(chunks > 256, "memo indices past 255 (LONG_BINGET): " + chunks + " chunks");
    }

    /** Every fixture decodes the same after priming as before, and the primer leaves no temp file behind. */
    @Test
    void primingChangesNoResult() throws IOException {
        List<Path> files = DcpMetadataFastPathTest.metadataFiles();
        assertFalse(files.size() < 5, "fixtures not found: " + files);
        Map<Path, DcpMetadata> before = new java.util.LinkedHashMap<>();
        for (Path f : files) before.put(f, DcpMetadataReader.read(f.getParent()));
        assertTrue(ParsePriming.prime());
        for (Path f : files) DcpMetadataFastPathTest.assertSame(f, before.get(f), DcpMetadataReader.read(f.getParent()));
        String mine = ParsePriming.TEMP_PREFIX + ProcessHandle.current().pid() + "-";
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().startsWith(mine)).toList());
        }
    }

    /** A command auditing the globals of the files it reads does not see the primer's. */
    @Test
    void primerIsNotAudited() throws IOException {
        Path dir = ckpt.format.testing.Fixtures.root().resolve("dcp-variety/checkpoint");
        try (PickleAudit audit = PickleAudit.start()) {
            assertTrue(ParsePriming.primeOnOwnThread());
            assertEquals(List.of(), audit.findings());
            DcpMetadataReader.read(dir);
            assertFalse(audit.findings().isEmpty());
            assertTrue(audit.findings().stream().allMatch(f -> f.file().startsWith(dir)), audit.findings().toString());
        }
    }

}
