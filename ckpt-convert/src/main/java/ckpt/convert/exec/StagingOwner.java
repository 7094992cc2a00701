package ckpt.convert.exec;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Who fills a staging directory ({@code OUT.tmp-*}): a record of the owner's PID, process start time and host,
 * written when the directory is created. A {@code kill -9} leaves the directory behind; the next conversion to the
 * same output (and {@code ckpt list}) finds it, and a staging dir whose owner ran on this host and no longer runs
 * (no such PID, or the PID now belongs to a process started at another time) is stale and may be removed.
 * Directories of other hosts, or without a record, are never touched: their owner cannot be checked from here.
 */
public record StagingOwner(long pid, Instant started, String host) {
    public static final String FILE = ".ckpt-staging-owner";
    static final String STAGING_INFIX = ".tmp-";

    /** The current process. */
    public static StagingOwner current() {
        ProcessHandle self = ProcessHandle.current();
        return new StagingOwner(self.pid(), self.info().startInstant().orElse(Instant.EPOCH), hostName());
    }

    /** A staging dir left behind, with what is known of its owner. */
    public record Leftover(Path dir, Optional<StagingOwner> owner, boolean stale) {
    }

    void write(Path stagingDir) throws IOException {
        Files.writeString(stagingDir.resolve(FILE), pid + "\n" + started + "\n" + host + "\n");
    }

    static Optional<StagingOwner> read(Path stagingDir) {
        Path f = stagingDir.resolve(FILE);
        try {
            if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS) || Files.size(f) > 4096) return Optional.empty();
            List<String> lines = Files.readAllLines(f);
            if (lines.size() < 3) return Optional.empty();
            return Optional.of(new StagingOwner(Long.parseLong(lines.get(0).trim()), Instant.parse(lines.get(1).trim()), lines.get(2).trim()));
        } catch (IOException | RuntimeException e) {
            return Optional.empty(); // unreadable record: not ours to judge
        }
    }

    /** Whether the owner can be proven gone: same host, and no live process with that PID and start time. */
    boolean gone(ProcessLookup processes) {
        if (!host.equals(hostName())) return false;
        Optional<Instant> start = processes.startOf(pid);
        return start.isEmpty() || (!started.equals(Instant.EPOCH) && !start.get().equals(started));
    }

    /** Looks up a live process's start time; a seam for tests. */
    @FunctionalInterface
    interface ProcessLookup {
        /** Empty when no process with this PID runs; EPOCH when it runs but its start time is unknown. */
        Optional<Instant> startOf(long pid);

        ProcessLookup LIVE = pid -> ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                .map(h -> h.info().startInstant().orElse(Instant.EPOCH));
    }

    /** Staging dirs in {@code dir}: of the output {@code name} only, or of every output when {@code name} is null. */
    public static List<Leftover> find(Path dir, String name) throws IOException {
        return find(dir, name, ProcessLookup.LIVE);
    }

    static List<Leftover> find(Path dir, String name, ProcessLookup processes) throws IOException {
        List<Leftover> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) return out;
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                String n = p.getFileName().toString();
                int at = n.lastIndexOf(STAGING_INFIX);
                if (at <= 0 || (name != null && !n.substring(0, at).equals(name))) continue;
                if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) continue;
                Optional<StagingOwner> owner = read(p);
                out.add(new Leftover(p, owner, owner.isPresent() && owner.get().gone(processes)));
            }
        }
        out.sort(java.util.Comparator.comparing(l -> l.dir().getFileName().toString()));
        return out;
    }

    /** Removes the stale staging dirs of output {@code target}; returns those removed. */
    static List<Path> removeStale(Path target, ProcessLookup processes) throws IOException {
        List<Path> removed = new ArrayList<>();
        Path parent = target.getParent();
        if (parent == null) return removed;
        for (Leftover l : find(parent, target.getFileName().toString(), processes)) {
            if (!l.stale()) continue;
            StagingDir.deleteTree(l.dir());
            removed.add(l.dir());
        }
        return removed;
    }

    static String hostName() {
        try { // the kernel's name first: a DNS lookup of the local host can stall for seconds
            Path kernel = Path.of("/proc/sys/kernel/hostname");
            if (Files.isReadable(kernel)) return Files.readString(kernel).trim();
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            String env = System.getenv("HOSTNAME");
            return env == null ? "unknown-host" : env;
        }
    }
}
