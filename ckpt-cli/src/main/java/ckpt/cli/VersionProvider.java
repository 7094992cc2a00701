package ckpt.cli;

import picocli.CommandLine;

final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = CkptCommand.class.getPackage().getImplementationVersion();
        return new String[]{"ckpt " + (v == null ? "dev" : v) + " (Java " + Runtime.version() + ")"};
    }
}
