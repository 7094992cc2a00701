package ckpt.convert.analysis;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code ckpt inspect --json --summary} prints: schema {@value #SCHEMA}, documented in
 * {@code docs/INSPECT_JSON.md}. The answers of an {@link InspectReport} without anything that grows with the
 * checkpoint's tensor or file count: counts, tensors by category, files in groups of like names, and the anomalies
 * (every one of them: they are what a script must act on). A few kB for a 405B checkpoint of 16,128 files.
 *
 * @param status     one line: complete, metadata-only, or damaged and how
 * @param counts     tensors, chunks, objects, files, data files, missing data files
 * @param anomalies  every missing, short or unexpected file, except the absence of each file of a metadata-only copy
 * @param size       the size analysis without its per-file list
 */
public record InspectSummary(String schema, String path, String format, String formatTitle, String era, Long iteration,
                             boolean dataPresent, boolean metadataOnly, String status, ModelSummary config,
                             HfConfig hfConfig, ParallelSummary parallelism, Map<String, Object> details,
                             Map<String, Long> counts, List<CategoryTotal> tensorsByCategory,
                             List<FileGroup> fileGroups, List<FileAnomalies.Anomaly> anomalies, Size size) {
    public static final String SCHEMA = "ckpt.inspect-summary/1";

    public record CategoryTotal(String category, long tensors, long chunks, long bytes) {
    }

    /** @param pattern a single file's name, or the members' name with the varying number as R (DCP ranks) or N */
    public record FileGroup(String pattern, long files, long minBytes, long maxBytes, long totalBytes, long absent) {
    }

    /** {@link SizeReport} less its per-file list. */
    public record Size(long totalBytes, long parameters, Map<String, Long> byCategory, SizeReport.Expected expected,
                       SizeReport.Converted converted, long tensorRecords, long objectRecords, List<String> explanation) {
    }

    public static InspectSummary of(InspectReport r) {
        FileAnomalies a = FileAnomalies.of(r);
        Map<String, long[]> byCategory = new LinkedHashMap<>();
        long chunks = 0;
        for (InspectReport.TensorInfo t : r.tensors()) {
            long[] x = byCategory.computeIfAbsent(t.category(), c -> new long[3]);
            x[0]++;
            x[1] += t.chunks();
            x[2] += t.bytes();
            chunks += t.chunks();
        }
        List<CategoryTotal> categories = new ArrayList<>();
        byCategory.forEach((k, x) -> categories.add(new CategoryTotal(k, x[0], x[1], x[2])));
        List<FileGroup> groups = FileGroups.of(r.files()).stream()
                .map(g -> new FileGroup(g.pattern(), g.files().size(), g.min(), g.max(), g.total(), g.absent())).toList();
        Map<String, Long> counts = new LinkedHashMap<>();
        counts.put("tensors", (long) r.tensors().size());
        counts.put("chunks", chunks);
        counts.put("objects", (long) r.objects().size());
        counts.put("files", (long) r.files().size());
        counts.put("data_files", (long) a.referenced());
        counts.put("missing_data_files", (long) a.missing());
        SizeReport s = r.size();
        return new InspectSummary(SCHEMA, r.path(), r.format(), r.formatTitle(), r.era(), r.iteration(), r.dataPresent(),
                a.metadataOnly(), a.status(), r.config(), r.hfConfig(), r.parallelism(), r.details(), counts, categories,
                groups, a.listed(), new Size(s.totalBytes(), s.parameters(), s.byCategory(), s.expected(), s.converted(),
                s.tensorRecords(), s.objectRecords(), s.explanation()));
    }
}
