package ckpt.convert.analysis;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * Why an I/O operation failed, in words, for a report line that already names the file: the JDK's messages for
 * file-system errors are the bare path (said twice then, the reason never), and an {@link UncheckedIOException}'s
 * message starts with its cause's class name.
 */
public final class IoReason {
    private IoReason() {
    }

    public static String of(Throwable t) {
        if (t instanceof UncheckedIOException u && u.getCause() != null) t = u.getCause();
        if (t instanceof com.fasterxml.jackson.core.JsonProcessingException) return ckpt.format.JsonErrors.describe(t);
        if (t instanceof NoSuchFileException) return "no such file or directory";
        if (t instanceof AccessDeniedException) return "permission denied";
        if (t instanceof NotDirectoryException) return "not a directory";
        if (t instanceof FileSystemException fs && fs.getReason() != null) return fs.getReason();
        String m = t.getMessage();
        if (m == null || m.isBlank() || t instanceof FileSystemException) return "I/O error";
        return m.lines().findFirst().orElse("I/O error");
    }
}
