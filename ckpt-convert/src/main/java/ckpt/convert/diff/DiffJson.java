package ckpt.convert.diff;

import ckpt.convert.analysis.InspectJson;
import com.fasterxml.jackson.core.JsonProcessingException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code ckpt diff --json}: schema {@code ckpt.diff/1} (docs/CLI.md). Every compared tensor is listed, same ones too. */
public final class DiffJson {
    public static final String SCHEMA = "ckpt.diff/1";

    private DiffJson() {
    }

    public static String write(DiffReport r) {
        return write(r, Map.of());
    }

    /** With {@code run}'s fields (e.g. the engine that read the tensors) after the options, before the summary. */
    public static String write(DiffReport r, Map<String, Object> run) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schema", SCHEMA);
        m.put("identical", r.identical());
        m.put("a", side(r.a(), r.namingA()));
        m.put("b", side(r.b(), r.namingB()));
        m.put("atol", r.atol());
        m.put("rtol", r.rtol());
        m.put("optimizer_compared", r.optimizerCompared());
        m.put("optimizer_tensors_not_compared", r.optimizerSkipped());
        m.putAll(run);
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("tensors", r.tensors().size());
        for (TensorDiff.Status s : TensorDiff.Status.values()) summary.put(s.jsonName(), r.count(s));
        m.put("summary", summary);
        List<Object> tensors = new ArrayList<>();
        for (TensorDiff t : r.tensors()) tensors.add(tensor(t));
        m.put("tensors", tensors);
        try {
            return InspectJson.MAPPER.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("diff report not serialisable: " + e.getOriginalMessage(), e);
        }
    }

    private static Map<String, Object> side(DiffReport.Side s, String naming) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("path", s.path());
        m.put("format", s.format());
        m.put("iteration", s.iteration());
        m.put("naming", naming);
        return m;
    }

    private static Map<String, Object> tensor(TensorDiff t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", t.name());
        m.put("name_a", t.nameA());
        m.put("name_b", t.nameB());
        m.put("status", t.status().jsonName());
        m.put("dtype_a", t.dtypeA() == null ? null : t.dtypeA().torchName());
        m.put("dtype_b", t.dtypeB() == null ? null : t.dtypeB().torchName());
        m.put("shape_a", t.shapeA());
        m.put("shape_b", t.shapeB());
        m.put("numel", t.numel());
        m.put("differing_elements", t.differing());
        m.put("max_abs_diff", t.maxAbsDiff());
        m.put("max_rel_diff", t.maxRelDiff());
        m.put("mean_abs_diff", t.meanAbsDiff());
        m.put("cosine_similarity", t.cosine());
        m.put("norm_a", t.normA());
        m.put("norm_b", t.normB());
        m.put("relative_l2_diff", t.relativeL2());
        Map<String, Object> first = null;
        if (t.firstA() != null) {
            first = new LinkedHashMap<>();
            first.put("a", t.firstA());
            first.put("b", t.firstB());
        }
        m.put("first_difference", first);
        return m;
    }
}
