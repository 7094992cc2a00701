package ckpt.format;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;

/**
 * Every file ckpt reads must be a regular file: opening a FIFO blocks until a writer appears (forever), and a device
 * such as {@code /dev/zero} never ends. Links are followed, so a link to a regular file is fine and a link to a
 * device is not. Checked before any open, and for a whole directory up front, so the error names the file.
 */
public final class RegularFiles {
    private RegularFiles() {
    }

    /** Opens {@code file} for reading once it is known to be a regular file. */
    public static FileChannel openRead(Path file) throws IOException {
        require(file);
        return FileChannel.open(file, StandardOpenOption.READ);
    }

    /** Throws a {@link FormatException} naming {@code file} when it is a special file (FIFO, device, socket). */
    public static void require(Path file) {
        kind(file).ifPresent(k -> {
            throw new FormatException(file, "is " + k + ", not a regular file: refusing to read it");
        });
    }

    /** Refuses the first entry of {@code dir} (not recursive) that is neither a regular file nor a directory. */
    public static void requireEntries(Path dir) {
        if (!Files.isDirectory(dir)) return;
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                if (Files.isDirectory(p)) continue;
                require(p);
            }
        } catch (IOException e) {
            throw new FormatException(dir, "cannot list: " + e.getMessage(), e);
        }
    }

    /** "a FIFO", "a character device"… for an existing special file; empty for regular files, directories and absent paths. */
    public static Optional<String> kind(Path file) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            return Optional.empty(); // the open that follows reports it
        }
        if (a.isRegularFile() || a.isDirectory()) return Optional.empty(); // a directory cannot block a read
        return Optional.of(otherKind(file));
    }

    private static String otherKind(Path file) {
        try {
            int type = ((Integer) Files.getAttribute(file, "unix:mode")) & 0170000;
            return switch (type) {
                case 0010000 -> "a FIFO (named pipe)";
                case 0020000 -> "a character device";
                case 0060000 -> "a block device";
                case 0140000 -> "a socket";
                default -> "a special file";
            };
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            return "a special file";
        }
    }
}
