package ckpt.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The version and git commit this ckpt was built from, read from {@code version.properties} that Maven filters at build
 * time. A build without git (a source tarball) has no commit; an unfiltered value (a build outside Maven) reads as
 * unknown rather than as a literal {@code ${...}}.
 */
record BuildInfo(String version, String commit, boolean dirty) {
    static final BuildInfo CURRENT = load();

    static BuildInfo load() {
        Properties p = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream("version.properties")) {
            if (in != null) p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String version = filtered(p.getProperty("version"));
        return new BuildInfo(version == null ? "dev" : version, filtered(p.getProperty("commit")),
                "true".equals(filtered(p.getProperty("dirty"))));
    }

    private static String filtered(String v) {
        return v == null || v.isBlank() || v.startsWith("${") ? null : v.strip();
    }

    /** The commit with {@code -dirty} when the tree had uncommitted changes, or null without git. */
    String revision() {
        return commit == null ? null : commit + (dirty ? "-dirty" : "");
    }

    /** What JSON outputs carry as {@code ckpt_version}: the version, and the revision as SemVer build metadata. */
    String full() {
        return revision() == null ? version : version + "+" + revision();
    }
}
