package ckpt.cli;

import ckpt.convert.analysis.SizeReport;
import ckpt.convert.analysis.Units;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The one-line answer to "why is it this big":
 * {@code 5.68 TB (5.17 TiB) = 405.9 B params × 14 B (bf16 2 + fp32 master 4 + Adam 4 + 4) + 0.05% overhead}.
 */
final class SizeLine {
    private SizeLine() {
    }

    static String of(SizeReport s) {
        String total = Units.bytes(s.totalBytes());
        SizeReport.Expected e = s.expected();
        if (s.parameters() == 0 || e == null) return total;
        Map<String, Number> per = e.bytesPerParameter();
        List<String> parts = new ArrayList<>();
        Number weights = per.get("model_weights");
        if (weights != null && weights.doubleValue() > 0) parts.add(weightDtype(s) + " " + num(weights));
        Number master = per.get(SizeReport.OPTIMIZER_MASTER);
        if (master != null) parts.add(shortDtype(master.intValue()) + " master " + num(master));
        Number m1 = per.get(SizeReport.OPTIMIZER_EXP_AVG), m2 = per.get(SizeReport.OPTIMIZER_EXP_AVG_SQ);
        if (m1 != null && m2 != null) parts.add("Adam " + num(m1) + " + " + num(m2));
        else if (m1 != null) parts.add("exp_avg " + num(m1));
        else if (m2 != null) parts.add("exp_avg_sq " + num(m2));
        StringBuilder b = new StringBuilder(total).append(" = ").append(Units.params(s.parameters())).append(" params × ")
                .append(num(e.totalBytesPerParameter())).append(" B");
        if (!parts.isEmpty()) b.append(" (").append(String.join(" + ", parts)).append(')');
        if (e.bytes() > 0 && e.differenceBytes() != 0) {
            double share = (double) e.differenceBytes() / e.bytes();
            b.append(share > 0 ? " + " + Units.percent(share) + " overhead" : " − " + Units.percent(-share) + " (less than expected)");
        }
        return b.toString();
    }

    /** The saved weight dtype, short ("bf16"); "weights" when they are saved in several dtypes. */
    private static String weightDtype(SizeReport s) {
        List<String> dtypes = s.byCategory().entrySet().stream()
                .filter(x -> x.getKey().startsWith(SizeReport.MODEL_WEIGHTS_PREFIX) && x.getValue() != 0)
                .map(x -> x.getKey().substring(SizeReport.MODEL_WEIGHTS_PREFIX.length())).toList();
        return dtypes.size() == 1 ? shortName(dtypes.getFirst()) : "weights";
    }

    static String shortName(String torchDtype) {
        return switch (torchDtype) {
            case "bfloat16" -> "bf16";
            case "float16" -> "fp16";
            case "float32" -> "fp32";
            case "float64" -> "fp64";
            default -> torchDtype;
        };
    }

    private static String shortDtype(int bytes) {
        return switch (bytes) {
            case 2 -> "16-bit";
            case 4 -> "fp32";
            case 8 -> "fp64";
            default -> bytes + "-byte";
        };
    }

    private static String num(Number n) {
        double d = n.doubleValue();
        if (d == Math.rint(d)) return Long.toString((long) d);
        return String.format(java.util.Locale.ROOT, "%.2f", d).replaceAll("0+$", "");
    }
}
