package ckpt.convert.analysis;

import ckpt.convert.analysis.InspectReport.FileInfo;
import ckpt.convert.analysis.SizeReport.FileBytes;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What is wrong with a checkpoint's files, one entry per file: referenced but missing, shorter than the records the
 * metadata places in it, or a data file the metadata does not reference. A copy with no data file at all is not
 * damaged but metadata-only, and says so; a copy with some of them is damaged.
 */
public final class FileAnomalies {
    public enum Kind {
        MISSING, SHORT, UNEXPECTED;

        /** The JSON and display name: {@code missing}, {@code short}, {@code unexpected}. */
        @com.fasterxml.jackson.annotation.JsonValue
        public String id() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public record Anomaly(Kind kind, String file, String detail) {
    }

    private static final List<String> DATA_SUFFIXES = List.of(".distcp", ".safetensors", ".pt", ".pth", ".bin");

    private final InspectReport report;
    private final int referenced;
    private final int missing;
    private final List<Anomaly> listed;

    private FileAnomalies(InspectReport report, int referenced, int missing, List<Anomaly> listed) {
        this.report = report;
        this.referenced = referenced;
        this.missing = missing;
        this.listed = listed;
    }

    public static FileAnomalies of(InspectReport r) {
        int referenced = 0, missing = 0;
        for (FileInfo f : r.files()) {
            if (f.referenced()) referenced++;
            if (f.referenced() && !f.present()) missing++;
        }
        // The absence of every file of a metadata-only copy is expected and not listed: its lines (16 k at 405B
        // scale, two formatted sizes each) are made only if all() asks for them.
        boolean metadataOnly = referenced > 0 && missing == referenced;
        return new FileAnomalies(r, referenced, missing, anomalies(r, !metadataOnly));
    }

    /** The anomalies in the numeric order of their files; the missing ones only when {@code withMissing}. */
    private static List<Anomaly> anomalies(InspectReport r, boolean withMissing) {
        List<Anomaly> out = new ArrayList<>();
        for (FileInfo f : r.files()) {
            if (f.referenced() && !f.present()) {
                if (withMissing)
                    out.add(new Anomaly(Kind.MISSING, f.name(), "the metadata places " + Units.bytes(f.bytes()) + " of records in it"));
            } else if (f.present() && !f.referenced() && DATA_SUFFIXES.stream().anyMatch(f.name()::endsWith)) {
                out.add(new Anomaly(Kind.UNEXPECTED, f.name(), Units.bytes(f.bytes()) + ", not referenced by the metadata"));
            }
        }
        for (FileBytes f : r.size().files()) {
            long need = f.tensorPayload() + f.objectBytes();
            if (f.present() && f.bytes() < need)
                out.add(new Anomaly(Kind.SHORT, f.name(), String.format(Locale.ROOT, "%s on disk, its records need at least %s",
                        Units.grouped(f.bytes()) + " bytes", Units.grouped(need) + " bytes")));
        }
        // stable: a file's own anomalies keep the order above
        out.sort((a, b) -> NaturalOrder.INSTANCE.compare(a.file(), b.file()));
        return List.copyOf(out);
    }

    /** Data files the metadata references. */
    public int referenced() {
        return referenced;
    }

    public int missing() {
        return missing;
    }

    /** Every anomaly, the absence of each file of a metadata-only copy included. */
    public List<Anomaly> all() {
        return metadataOnly() ? anomalies(report, true) : listed;
    }

    /** No data file on disk at all: a copy of the metadata, not a damaged checkpoint. */
    public boolean metadataOnly() {
        return referenced > 0 && missing == referenced;
    }

    /** Anomalies worth a line each: all of them, except the expected absence of every file of a metadata-only copy. */
    public List<Anomaly> listed() {
        return listed;
    }

    public long count(Kind k) {
        return k == Kind.MISSING ? missing : listed.stream().filter(a -> a.kind() == k).count();
    }

    /** One line for the top of the output. */
    public String status() {
        long shortFiles = count(Kind.SHORT), unexpected = count(Kind.UNEXPECTED);
        String extra = unexpected == 0 ? "" : "; " + unexpected + " unexpected data file" + (unexpected == 1 ? "" : "s");
        if (metadataOnly())
            return "metadata-only: none of the " + Units.grouped(referenced) + " data files is on disk (sizes below are those the metadata implies)" + extra;
        if (missing > 0 || shortFiles > 0) {
            List<String> parts = new ArrayList<>();
            if (missing > 0) parts.add(Units.grouped(missing) + " of " + Units.grouped(referenced) + " data files missing");
            if (shortFiles > 0) parts.add(Units.grouped(shortFiles) + (missing > 0 ? "" : " of " + Units.grouped(referenced) + " data files") + " short");
            return "damaged: " + String.join(", ", parts) + extra + " (run ckpt verify)";
        }
        if (unexpected > 0) return "complete, but " + unexpected + " unexpected data file" + (unexpected == 1 ? "" : "s");
        return referenced == 0 ? "complete" : "complete: all " + Units.grouped(referenced) + " data files present";
    }
}
