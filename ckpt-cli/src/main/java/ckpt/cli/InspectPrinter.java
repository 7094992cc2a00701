package ckpt.cli;

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

    void print(boolean everyTensor) {
        header();
        config();
        parallelism();
        files();
        if (everyTensor) everyTensor();
        else weights();
        categories();
        size();
    }

    private void header() {
        out.println(r.path());
        out.println("  format:     " + r.formatTitle() + " — " + r.era());
        if (r.iteration() != null) out.println("  iteration:  " + r.iteration());
        if (!r.dataPresent()) {
            long absent = r.files().stream().filter(f -> f.referenced() && !f.present()).count();
            out.println("  data files: ABSENT — " + absent + " data file" + (absent == 1 ? " the metadata references is" : "s the metadata references are")
                    + " not on disk (metadata-only copy); their sizes below are those the metadata implies");
        }
    }

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

    private void parallelism() {
        ParallelSummary p = r.parallelism();
        if (p == null) return;
        List<String> a = new ArrayList<>();
        if (p.tensorParallel() != null) {
            a.add("TP " + p.tensorParallel());
            a.add("PP " + p.pipelineParallel() + (p.virtualPipeline() == null ? "" : " (virtual " + p.virtualPipeline() + ")"));
            a.add("DP " + p.dataParallel());
            a.add("EP " + p.expertParallel());
            a.add("CP " + p.contextParallel());
        }
        if (p.worldSize() != null) a.add("world size " + p.worldSize());
        if (p.distributedOptimizer() != null)
            a.add(p.distributedOptimizer() ? "distributed optimizer" + (p.optimizerFormat() == null ? "" : " (" + p.optimizerFormat() + ")")
                    : "no distributed optimizer");
        out.println();
        out.println("parallelism (" + p.source() + "): " + String.join(", ", a));
    }

    private void files() {
        out.println();
        out.println("files:");
        TextTable t = new TextTable("  NAME", ">BYTES", ">GB", ">GiB", "NOTE");
        long total = 0;
        for (InspectReport.FileInfo f : r.files()) {
            total += f.bytes();
            t.row("  " + f.name(), Units.grouped(f.bytes()), gb(f.bytes()), gib(f.bytes()),
                    f.present() ? "" : "absent (size implied by the metadata)");
        }
        t.row("  total", Units.grouped(total), gb(total), gib(total), "");
        t.print(out);
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
        TextTable t = new TextTable("  CATEGORY", ">TENSORS", ">CHUNKS", ">BYTES", ">GB", ">GiB");
        for (var e : byCategory.entrySet()) {
            long[] a = e.getValue();
            t.row("  " + e.getKey(), Long.toString(a[0]), Long.toString(a[1]), Units.grouped(a[2]), gb(a[2]), gib(a[2]));
        }
        t.print(out);
        if (!r.objects().isEmpty()) {
            long bytes = r.objects().stream().mapToLong(InspectReport.ObjectInfo::bytes).sum();
            out.println("  + " + r.objects().size() + " pickled objects, " + Units.grouped(bytes) + " bytes");
        }
    }

    private void size() {
        SizeReport s = r.size();
        out.println();
        out.println("size: " + Units.full(s.totalBytes()) + ", " + Units.grouped(s.parameters()) + " parameters");
        TextTable t = new TextTable("  CLASS", ">BYTES", ">GB", ">GiB", ">SHARE", ">B/PARAM");
        for (var e : s.byCategory().entrySet()) {
            if (e.getValue() == 0) continue;
            t.row("  " + SizeReport.describe(e.getKey()), Units.grouped(e.getValue()), gb(e.getValue()), gib(e.getValue()),
                    share(e.getValue(), s.totalBytes()), perParam(e.getValue(), s.parameters()));
        }
        t.row("  total", Units.grouped(s.totalBytes()), gb(s.totalBytes()), gib(s.totalBytes()), "100%",
                perParam(s.totalBytes(), s.parameters()));
        t.print(out);
        out.println();
        for (String line : s.explanation()) out.println("  - " + line);
    }

    private static String share(long v, long total) {
        if (total == 0) return "";
        double p = 100.0 * v / total;
        return p >= 0.1 ? String.format(Locale.ROOT, "%.1f%%", p) : String.format(Locale.ROOT, "%.4f%%", p);
    }

    private static String perParam(long v, long params) {
        if (params == 0) return "";
        double x = (double) v / params;
        if (x < 0.00005) return "<0.0001";
        return String.format(Locale.ROOT, "%.4f", x).replaceAll("\\.?0+$", "");
    }

    private static String gb(long n) {
        return String.format(Locale.ROOT, "%.2f", n / 1e9);
    }

    private static String gib(long n) {
        return String.format(Locale.ROOT, "%.2f", n / (double) (1L << 30));
    }

    private static String v(Object o) {
        return o == null ? "?" : o instanceof Double d ? fmt(d) : o.toString();
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }
}
