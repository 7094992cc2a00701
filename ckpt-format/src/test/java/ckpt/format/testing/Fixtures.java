package ckpt.format.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Locates the real fixtures in {@code testdata/} (system property {@code ckpt.testdata}, else up from the working dir). */
public final class Fixtures {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Fixtures() {
    }

    public static Path root() {
        String prop = System.getProperty("ckpt.testdata");
        if (prop != null && Files.isDirectory(Paths.get(prop))) return Paths.get(prop);
        Path p = Paths.get("").toAbsolutePath();
        while (p != null) {
            if (Files.isDirectory(p.resolve("testdata/megatron-llama-tp2"))) return p.resolve("testdata");
            p = p.getParent();
        }
        throw new IllegalStateException("testdata/ not found (set -Dckpt.testdata)");
    }

    public static Path path(String first, String... more) {
        return root().resolve(Paths.get(first, more));
    }

    public static JsonNode json(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String sha256(java.lang.foreign.MemorySegment seg) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(seg.asByteBuffer());
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
