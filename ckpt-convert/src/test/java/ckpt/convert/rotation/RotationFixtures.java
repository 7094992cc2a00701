package ckpt.convert.rotation;

import ckpt.format.testing.Fixtures;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/** Test helpers for rotation: fixture save dirs by name, mtimes, a byte-exact fingerprint of a tree, undeletable files. */
public final class RotationFixtures {
    public static final String TORCH_DIST = "megatron-llama-tp2/checkpoint";
    public static final String LEGACY = "megatron-llama-tp2-legacy-torch/checkpoint";
    public static final String CORE014 = "megatron-llama-tp2-core014/checkpoint";
    public static final String DCP = "dcp-fsdp2/checkpoint";

    private RotationFixtures() {
    }

    /** Sets the mtime of a tree and everything in it (how "untouched for an hour" is simulated). */
    public static void setMtime(Path root, Instant t) throws IOException {
        FileTime ft = FileTime.from(t);
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (!attrs.isSymbolicLink()) Files.setLastModifiedTime(file, ft);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                Files.setLastModifiedTime(dir, ft);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /**
     * Every entry under {@code root} (relative path → type, size, mtime, SHA-256 of content or link target). Two
     * equal fingerprints mean no byte, name, link or timestamp changed.
     */
    public static Map<String, String> fingerprint(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                out.put(root.relativize(dir) + "/", "dir mtime=" + attrs.lastModifiedTime().toMillis());
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                String key = root.relativize(file).toString();
                if (attrs.isSymbolicLink()) out.put(key, "link -> " + Files.readSymbolicLink(file));
                else out.put(key, "file size=" + attrs.size() + " mtime=" + attrs.lastModifiedTime().toMillis()
                        + " sha256=" + Fixtures.sha256(file));
                return FileVisitResult.CONTINUE;
            }
        });
        return out;
    }

    /**
     * Makes {@code file} impossible to delete: chmod of its directory when not root, {@code chattr +i} as root.
     * False when this machine allows neither (the caller then skips).
     */
    public static boolean makeUndeletable(Path file) throws Exception {
        if (!isRoot()) {
            Files.setPosixFilePermissions(file.getParent(), PosixFilePermissions.fromString("r-xr-xr-x"));
            return true;
        }
        return run("chattr", "+i", file.toString()) == 0;
    }

    /** Undoes {@link #makeUndeletable} (the file may have moved with its directory since). */
    public static void makeDeletable(Path file) throws Exception {
        if (!isRoot()) Files.setPosixFilePermissions(file.getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
        else run("chattr", "-i", file.toString());
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static int run(String... cmd) throws Exception {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor();
        } catch (IOException noSuchTool) {
            return -1;
        }
    }
}
