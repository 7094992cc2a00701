package ckpt.format.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** Locates {@code testdata/} and reads its reference files. */
final class Fixtures {
    private Fixtures() {
    }

    static Path testdata() {
        String prop = System.getProperty("ckpt.testdata");
        if (prop != null && Files.isDirectory(Path.of(prop))) return Path.of(prop);
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("testdata"))) return p.resolve("testdata");
        }
        throw new IllegalStateException("testdata/ not found (set -Dckpt.testdata)");
    }

    static Path path(String relative) {
        return testdata().resolve(relative);
    }

    static JsonNode json(String relative) {
        try {
            return new ObjectMapper().readTree(path(relative).toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String sha256(MemorySegment data) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(data.asByteBuffer());
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asLong();
        return out;
    }

    static List<String> fieldNames(JsonNode object) {
        List<String> out = new ArrayList<>();
        object.fieldNames().forEachRemaining(out::add);
        return out;
    }
}
