package ckpt.format.zip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Finds the real fixtures (system property {@code ckpt.testdata}, else a {@code testdata/} above the working dir). */
final class TestData {
    private static final class Json { // loaded only when a test reads JSON (the bench runs without Jackson)
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    private TestData() {
    }

    static Path root() {
        String prop = System.getProperty("ckpt.testdata");
        if (prop != null && Files.isDirectory(Path.of(prop))) return Path.of(prop);
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("testdata"))) return p.resolve("testdata");
        }
        throw new IllegalStateException("testdata/ not found: set -Dckpt.testdata");
    }

    static Path path(String relative) {
        return root().resolve(relative);
    }

    static JsonNode json(String relative) {
        try {
            return Json.MAPPER.readTree(path(relative).toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Maps {@code [offset, offset+length)} of a file read-only in the given arena. */
    static MemorySegment map(Path file, long offset, long length, Arena arena) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, offset, length, arena);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static MemorySegment map(Path file, Arena arena) {
        try {
            return map(file, 0, Files.size(file), arena);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
