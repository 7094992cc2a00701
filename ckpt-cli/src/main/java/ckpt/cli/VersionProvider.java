package ckpt.cli;

import picocli.CommandLine;

/** {@code ckpt --version}: the version, the git commit it was built from, and the Java runtime running it. */
final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        BuildInfo b = BuildInfo.CURRENT;
        return new String[]{
                "ckpt " + b.version() + (b.revision() == null ? "" : " (commit " + b.revision() + ")"),
                "Java " + Runtime.version() + " (" + System.getProperty("java.home") + ")"};
    }
}
