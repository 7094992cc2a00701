package ckpt.convert.diff;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint's tensors under one naming (its own keys, mcore module names, an HF family's names).
 *
 * @param naming what the names are, for the report, e.g. {@code huggingface llama}
 */
public record NamingView(String naming, List<ViewTensor> tensors) {
    public NamingView {
        tensors = List.copyOf(tensors);
    }

    public Map<String, ViewTensor> byName() {
        Map<String, ViewTensor> m = new LinkedHashMap<>();
        for (ViewTensor t : tensors) m.put(t.name(), t);
        return m;
    }
}
