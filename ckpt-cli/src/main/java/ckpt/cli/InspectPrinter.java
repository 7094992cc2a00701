package ckpt.cli;

import ckpt.convert.analysis.FileAnomalies;
import ckpt.convert.analysis.FileGroups;
import ckpt.convert.analysis.NaturalOrder;
import ckpt.convert.analysis.InspectReport;
import ckpt.convert.analysis.InspectReport.TensorInfo;
import ckpt.convert.analysis.ModelSummary;
import ckpt.convert.analysis.ParallelSummary;
import ckpt.convert.analysis.SizeReport;
import ckpt.convert.analysis.Units;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The human form of an {@link InspectReport}. Kept short at any model size: tensors are summarised by category,
 * Megatron's stacked per-layer tensors are one line with their layer count, and numbered per-layer keys
 * ({@code model.layers.17.mlp…}) collapse to one {@code layers.*} line when all layers agree.
 */
final class InspectPrinter {
    private static final Pattern NUMBERED_LAYER = Pattern.compile("(.*\\.layers\\.)(\\d+)(\\..+)");

    private final InspectReport r;
    private final PrintWriter out;

    InspectPrinter(InspectReport r, PrintWriter out) {
        this.r = r;
        this.out = out;
    }

    /** What to print beyond the first screen. */
    record Options(boolean everyTensor, boolean everyFile, String filter) {
    }

    void print(Options o) {
        FileAnomalies anomalies = FileAnomalies.of(r);
        summary(anomalies);
        if (r.hfConfig() != null) HfConfigLines.details(r.hfConfig(), out);
        config();
        files(o.everyFile(), anomalies);
        if (o.filter() != null && r.tensors().isEmpty() && r.objects().isEmpty()) {
            out.println();
            out.println("no tensor or object key matches --filter '" + o.filter() + "' (substring, or a glob with * and ?)");
        } else if (o.everyTensor()) {
            everyTensor();
        } else {
            weights();
        }
        categories();
        size();
    }

    /** The first screen: what this is and why it is this big, then anything wrong with it. */
    private void summary(FileAnomalies anomalies) {
        out.println(r.path());
        out.println("  format:     " + r.formatTitle() + " — " + r.era());
        if (r.iteration() != null) out.println("  iteration:  " + r.iteration());
        out.println("  status:     " + anomalies.status());
        ModelSummary m = r.config();
        if (r.hfConfig() != null) out.println("  model:      " + HfConfigLines.summary(r.hfConfig()));
        else if (m != null) out.println("  model:      " + ModelLine.of(m));
        ParallelSummary p = r.parallelism();
        if (p != null) out.println("  layout:     " + layout(p));
        out.println("  size:       " + SizeLine.of(r.size()));
        List<FileAnomalies.Anomaly> listed = anomalies.listed();
        if (!listed.isEmpty()) {
            out.println();
            out.println("problems (" + listed.size() + "):");
            int shown = 0;
            for (FileAnomalies.Anomaly a : listed) {
                if (shown++ == MAX_PROBLEMS_SHOWN) {
                    out.println("  … and " + (listed.size() - MAX_PROBLEMS_SHOWN) + " more (ckpt verify lists them all)");
                    break;
                }
                out.println("  " + a.kind().id() + "  " + a.file() + ": " + a.detail());
            }
        }
    }

    private static final int MAX_PROBLEMS_SHOWN = 40;

    private void config() {
        ModelSummary m = r.config();
        if (m == null) return;
        out.println();
        out.println("model (" + m.source() + "):");
        List<String> a = new ArrayList<>();
        a.add("layers " + v(m.numLayers()));
        a.add("hidden " + v(m.hiddenSize()));
        a.add("ffn " + v(m.ffnHiddenSize()) + (Boolean.TRUE.equals(m.gatedLinearUnit()) ? " (gated)" : ""));
        a.add("heads " + v(m.numAttentionHeads()) + " / query groups " + v(m.numQueryGroups()) + " / kv channels " + v(m.kvChannels()));
        out.println("  " + String.join(", ", a));
        List<String> b = new ArrayList<>();
        b.add("vocab " + v(m.vocabSize()) + " / padded " + v(m.paddedVocabSize()));
        b.add("norm " + v(m.normalization()) + (m.normEpsilon() == null ? "" : " (eps " + m.normEpsilon() + ")"));
        b.add("position " + v(m.positionEmbeddingType()) + (m.rotaryBase() == null ? "" : " (base " + fmt(m.rotaryBase()) + ")"));
        b.add("activation " + v(m.activation()));
        b.add("embeddings " + (m.tiedEmbeddings() == null ? "?" : m.tiedEmbeddings() ? "tied" : "untied"));
        if (m.numExperts() != null) b.add("experts " + m.numExperts());
        if (m.paramsDtype() != null) b.add("dtype " + m.paramsDtype());
        out.println("  " + String.join(", ", b));
        for (String n : m.notes()) out.println("  note: " + n);
    }

    private static String layout(ParallelSummary p) {
        List<String> a = new ArrayList<>();
        if (p.tensorParallel() != null) {
            a.add("TP " + p.tensorParallel());
            a.add("PP " + p.pipelineParallel() + (p.virtualPipeline() == null ? "" : " (virtual " + p.virtualPipeline() + ")"));
            a.add("DP " + p.dataParallel());
            a.add("EP " + p.expertParallel());
            a.add("CP " + p.contextParallel());
        }
        if (p.worldSize() != null) a.add("world size " + Units.grouped(p.worldSize()));
        if (p.distributedOptimizer() != null)
            a.add(p.distributedOptimizer() ? "distributed optimizer" + (p.optimizerFormat() == null ? "" : " (" + p.optimizerFormat() + ")")
                    : "no distributed optimizer");
        return String.join(", ", a) + " (" + p.source() + ")";
    }

    /** Files in groups of like names (or every file with --files, in numeric order). */
    private void files(boolean everyFile, FileAnomalies anomalies) {
        out.println();
        long total = r.files().stream().mapToLong(InspectReport.FileInfo::bytes).sum();
        out.println("files (" + Units.grouped(r.files().size()) + ", " + Units.bytes(total)
                + (everyFile ? "" : "; --files lists each") + "):");
        TextTable t = new TextTable("  NAME", ">BYTES", ">SIZE", "NOTE");
        if (everyFile) {
            r.files().stream().sorted((a, b) -> NaturalOrder.INSTANCE.compare(a.name(), b.name()))
                    .forEach(f -> t.row("  " + f.name(), Units.grouped(f.bytes()), Units.bytes(f.bytes()), note(f, anomalies)));
            t.print(out);
            return;
        }
        for (FileGroups.Group g : FileGroups.of(r.files())) {
            if (g.single()) {
                InspectReport.FileInfo f = g.files().getFirst();
                t.row("  " + f.name(), Units.grouped(f.bytes()), Units.bytes(f.bytes()), note(f, anomalies));
            } else {
                long absent = g.absent();
                String note = absent == 0 ? "" : absent == g.files().size() ? "all absent (sizes implied by the metadata)"
                        : Units.grouped(absent) + " absent";
                t.row("  " + Units.grouped(g.files().size()) + " " + g.noun() + " " + g.pattern() + ": "
                        + Units.range(g.min(), g.max()) + " each", Units.grouped(g.total()), Units.bytes(g.total()), note);
            }
        }
        t.print(out);
    }

    private static String note(InspectReport.FileInfo f, FileAnomalies anomalies) {
        if (!f.present()) return anomalies.metadataOnly() ? "absent (size implied by the metadata)" : "MISSING (size implied by the metadata)";
        return "";
    }

    /** Model weights, grouped: the architecture at a glance. */
    private void weights() {
        List<TensorInfo> w = r.tensors().stream().filter(t -> t.category().equals("model_weight")).toList();
        if (w.isEmpty()) return;
        out.println();
        out.println("model weights (" + w.size() + " tensors; --tensors lists every tensor):");
        tensorTable(group(w));
    }

    private void everyTensor() {
        Map<String, List<TensorInfo>> byCategory = new LinkedHashMap<>();
        for (TensorInfo t : r.tensors()) byCategory.computeIfAbsent(t.category(), c -> new ArrayList<>()).add(t);
        for (var e : byCategory.entrySet()) {
            out.println();
            out.println(e.getKey() + " (" + e.getValue().size() + " tensors):");
            tensorTable(e.getValue().stream().map(t -> new Line(t.key(), t, 1)).toList());
        }
        if (!r.objects().isEmpty()) {
            out.println();
            out.println("objects (" + r.objects().size() + "):");
            TextTable t = new TextTable("  KEY", "CATEGORY", ">BYTES", "FILE");
            for (InspectReport.ObjectInfo o : r.objects()) t.row("  " + o.key(), o.category(), Units.grouped(o.bytes()), o.file());
            t.print(out);
        }
    }

    /** One printed line: a tensor, or {@code count} numbered layers of identical tensors. */
    private record Line(String key, TensorInfo t, int count) {
    }

    private static List<Line> group(List<TensorInfo> tensors) {
        Map<String, List<TensorInfo>> groups = new LinkedHashMap<>();
        for (TensorInfo t : tensors) {
            Matcher m = NUMBERED_LAYER.matcher(t.key());
            String k = m.matches() ? m.group(1) + "*" + m.group(3) + "|" + t.dtype() + Arrays.toString(t.shape()) : t.key();
            groups.computeIfAbsent(k, x -> new ArrayList<>()).add(t);
        }
        List<Line> lines = new ArrayList<>();
        for (var e : groups.entrySet()) {
            List<TensorInfo> g = e.getValue();
            if (g.size() == 1) lines.add(new Line(g.getFirst().key(), g.getFirst(), 1));
            else lines.add(new Line(e.getKey().substring(0, e.getKey().indexOf('|')), g.getFirst(), g.size()));
        }
        return lines;
    }

    private void tensorTable(List<Line> lines) {
        TextTable t = new TextTable("  KEY", "DTYPE", "SHAPE", ">LAYERS", ">CHUNKS", ">BYTES", "CATEGORY");
        for (Line l : lines) {
            TensorInfo x = l.t();
            String layers = x.stackedLayers() != null ? x.stackedLayers() + " stacked" : l.count() > 1 ? l.count() + " ×" : "";
            long bytes = x.bytes() * l.count();
            int chunks = x.chunks() * l.count();
            t.row("  " + l.key(), x.dtype(), Arrays.toString(x.shape()), layers, Integer.toString(chunks),
                    Units.grouped(bytes), x.category());
        }
        t.print(out);
    }

    private void categories() {
        Map<String, long[]> byCategory = new LinkedHashMap<>();   // tensors, chunks, bytes
        for (TensorInfo t : r.tensors()) {
            long[] a = byCategory.computeIfAbsent(t.category(), c -> new long[3]);
            a[0]++;
            a[1] += t.chunks();
            a[2] += t.bytes();
        }
        out.println();
        out.println("tensors by category" + (r.tensors().size() == 0 ? ": none" : ":"));
        if (byCategory.isEmpty()) return;
        TextTable t = new TextTable("  CATEGORY", ">TENSORS", ">CHUNKS", ">BYTES", ">SIZE");
        for (var e : byCategory.entrySet()) {
            long[] a = e.getValue();
            t.row("  " + e.getKey(), Units.grouped(a[0]), Units.grouped(a[1]), Units.grouped(a[2]), Units.bytes(a[2]));
        }
        t.print(out);
        if (!r.objects().isEmpty()) {
            long bytes = r.objects().stream().mapToLong(InspectReport.ObjectInfo::bytes).sum();
            out.println("  + " + Units.grouped(r.objects().size()) + " pickled objects, " + Units.bytes(bytes));
        }
    }

    private void size() {
        SizeReport s = r.size();
        out.println();
        out.println("size: " + Units.full(s.totalBytes()) + ", " + Units.grouped(s.parameters()) + " parameters ("
                + Units.params(s.parameters()) + ")");
        TextTable t = new TextTable("  CLASS", ">BYTES", ">SIZE", ">SHARE", ">B/PARAM");
        for (var e : s.byCategory().entrySet()) {
            if (e.getValue() == 0) continue;
            t.row("  " + SizeReport.describe(e.getKey()), Units.grouped(e.getValue()), Units.bytes(e.getValue()),
                    share(e.getValue(), s.totalBytes()), perParam(e.getValue(), s.parameters()));
        }
        t.row("  total", Units.grouped(s.totalBytes()), Units.bytes(s.totalBytes()), "100%",
                perParam(s.totalBytes(), s.parameters()));
        t.print(out);
        out.println();
        for (String line : s.explanation()) out.println("  - " + line);
    }

    private static String share(long v, long total) {
        return total == 0 ? "" : Units.percent((double) v / total);
    }

    private static String perParam(long v, long params) {
        if (params == 0) return "";
        double x = (double) v / params;
        if (x < 0.00005) return "<0.0001";
        return String.format(Locale.ROOT, "%.4f", x).replaceAll("\\.?0+$", "");
    }

    static String v(Object o) {
        return o == null ? "?" : o instanceof Double d ? fmt(d) : o.toString();
    }

    static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }
}
