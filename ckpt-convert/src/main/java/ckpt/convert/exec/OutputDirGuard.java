package ckpt.convert.exec;

import ckpt.format.FormatException;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Where a conversion may write. Replacing the output ({@code --force}) deletes a directory tree, so the output must
 * never be, contain or lie inside the input checkpoint — compared on real paths, so {@code .}, {@code ..} and symbolic
 * links cannot hide it — and {@code --force} replaces only what ckpt itself wrote (a directory holding the
 * {@link #MARKER} file) or an empty directory. Everything else is refused with the reason, before anything is touched.
 */
public final class OutputDirGuard {
    /** Left in every output directory ckpt writes: the proof that {@code --force} may replace it. */
    public static final String MARKER = ".ckpt-output";

    private OutputDirGuard() {
    }

    /**
     * @param input  the checkpoint as given (file or directory; a save dir covers all its iterations)
     * @param output the output directory as given
     */
    public static void check(Path input, Path output, boolean force) throws IOException {
        Path in = input.toRealPath();
        Path out = realPathOfPossiblyAbsent(output);
        if (out.equals(in))
            throw new FormatException(output, "the output directory is the input checkpoint: refusing to write over it");
        if (out.startsWith(in))
            throw new FormatException(output, "the output directory lies inside the input checkpoint " + in + ": choose a directory outside it");
        if (in.startsWith(out))
            throw new FormatException(output, "the output directory contains the input checkpoint " + in
                    + (force ? ": --force would delete it" : "") + ": choose a directory outside it");
        if (!Files.exists(output, LinkOption.NOFOLLOW_LINKS)) return;
        if (!force) return; // StagingDir refuses an existing output without --force
        if (Files.isSymbolicLink(output))
            throw new FormatException(output, "the output directory is a symbolic link: --force replaces only a directory ckpt wrote");
        if (!Files.isDirectory(output, LinkOption.NOFOLLOW_LINKS))
            throw new FormatException(output, "exists and is not a directory: --force replaces only a directory ckpt wrote");
        if (Files.isRegularFile(output.resolve(MARKER), LinkOption.NOFOLLOW_LINKS) || isEmpty(output)) return;
        throw new FormatException(output, "--force replaces only an empty directory or one ckpt wrote (it holds "
                + MARKER + "); this one holds other files: remove it yourself or choose another directory");
    }

    /**
     * {@link #check} for a run in parts ({@code --part}, {@code --finish}), which also writes into the staging dir
     * {@code DIR.parts} and deletes it when it publishes: that dir must not be, contain or lie inside the input either
     * (a source named {@code X.parts} converted to {@code X} would otherwise be written into and then deleted).
     */
    public static void checkParts(Path input, Path output, boolean force) throws IOException {
        check(input, output, force);
        Path staging = PartStaging.of(output).dir();
        Path in = input.toRealPath();
        Path st = realPathOfPossiblyAbsent(staging);
        if (st.equals(in) || st.startsWith(in) || in.startsWith(st))
            throw new FormatException(staging, "the staging dir of a run in parts (written by --part, deleted by --finish) is, lies "
                    + "inside or contains the input checkpoint " + in + ": choose another --output-dir");
        PartStaging.of(output).checkNotLeftOver();
    }

    /** Writes the marker into a directory ckpt is filling. */
    static void mark(Path dir) throws IOException {
        Files.writeString(dir.resolve(MARKER), "written by ckpt convert; ckpt convert --force may replace this directory\n");
    }

    /** The real path of {@code p}: its deepest existing ancestor resolved (links, {@code ..}), the rest appended. */
    static Path realPathOfPossiblyAbsent(Path p) throws IOException {
        Path abs = p.toAbsolutePath().normalize();
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) existing = existing.getParent();
        if (existing == null) return abs;
        return existing.toRealPath().resolve(existing.relativize(abs));
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            return !s.iterator().hasNext();
        }
    }
}
