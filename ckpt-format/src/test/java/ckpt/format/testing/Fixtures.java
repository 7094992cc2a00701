package ckpt.format.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * The one place tests find the real fixtures in {@code testdata/} (system property {@code ckpt.testdata}, else up
 * from the working dir) and read them: JSON references, whole small files, mapped windows, SHA-256 digests, and
 * copies of fixture trees to damage in a temp dir.
 */
public final class Fixtures {
    // Loaded only when a test reads JSON: harnesses such as ZipOpenBench run without Jackson on the class path.
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

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

    /** A path under {@code testdata/}; {@code first} may itself hold several {@code /}-separated names. */
    public static Path path(String first, String... more) {
        return root().resolve(Paths.get(first, more));
    }

    public static JsonNode json(Path file) {
        try {
            return Json.MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code json(path(first, more...))}. */
    public static JsonNode json(String first, String... more) {
        return json(path(first, more));
    }

    /**
     * A JSON reference kept gzip-compressed in the tracked tree ({@code NAME.json.gz}), parsed only after checking
     * that the decompressed bytes are the reference as recorded ({@code sha256OfJson}, also listed in
     * testdata/README.md): the compression may never change what the test compares against.
     */
    public static JsonNode gzippedJson(String relative, String sha256OfJson) {
        byte[] json;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(path(relative)))) {
            json = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (!sha256(json).equals(sha256OfJson)) {
            throw new IllegalStateException(relative + ": decompressed content has sha256 " + sha256(json)
                    + ", the recorded reference is " + sha256OfJson);
        }
        try {
            return Json.MAPPER.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A whole (small) file on the heap. */
    public static byte[] bytes(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Maps {@code [offset, offset+length)} of a file read-only in the given arena. */
    public static MemorySegment map(Path file, long offset, long length, Arena arena) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, offset, length, arena);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Maps a whole file read-only in the given arena. */
    public static MemorySegment map(Path file, Arena arena) {
        try {
            return map(file, 0, Files.size(file), arena);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Copies a whole tree (e.g. a fixture save dir) to {@code target}, keeping file times, so that tests can damage
     * the copy; returns {@code target}.
     */
    public static Path copyTree(Path source, Path target) throws IOException {
        try (Stream<Path> s = Files.walk(source)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = target.resolve(source.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t, StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        return target;
    }

    /** Deletes a tree, children first. */
    public static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    /** Every regular file under {@code dir} (relative path → SHA-256), sorted: two outputs compared file for file. */
    public static java.util.SortedMap<String, String> treeSha256(Path dir) throws IOException {
        java.util.SortedMap<String, String> out = new java.util.TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(f -> Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)).toList())
                out.put(dir.relativize(p).toString(), sha256(p));
        }
        return out;
    }

    /** Lower-case hex SHA-256 of the segment's bytes. */
    public static String sha256(MemorySegment seg) {
        MessageDigest md = sha256();
        md.update(seg.asByteBuffer());
        return HexFormat.of().formatHex(md.digest());
    }

    public static String sha256(byte[] data) {
        return HexFormat.of().formatHex(sha256().digest(data));
    }

    /** Lower-case hex SHA-256 of a file's content, streamed; a symbolic link is refused, never followed. */
    public static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            MessageDigest md = sha256();
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A JSON array of integers as {@code long[]} (shapes, strides, offsets in the reference files). */
    public static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asLong();
        return out;
    }

    /** A JSON object's field names in file order. */
    public static List<String> fieldNames(JsonNode object) {
        List<String> out = new ArrayList<>();
        object.fieldNames().forEachRemaining(out::add);
        return out;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
