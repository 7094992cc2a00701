package ckpt.convert.mapping;

import java.util.List;
import java.util.Map;

/** Mistral (MAPPING.md §3.1): Llama weights; config adds {@code sliding_window = window_size[0] + 1}. */
public class MistralMapping extends LlamaMapping {
    @Override
    public String name() {
        return "mistral";
    }

    @Override
    public String architecture() {
        return "MistralForCausalLM";
    }

    @Override
    public String modelType() {
        return "mistral";
    }

    @Override
    protected boolean allowsSlidingWindow() {
        return true;
    }

    @Override
    public List<String> mismatches(MappingContext ctx) {
        List<String> out = super.mismatches(ctx);
        ctx.windowSize().ifPresent(w -> {
            if (w.size() != 2 || MappingContext.asLong(w.get(1)).orElse(-1L) != 0 || MappingContext.asLong(w.get(0)).isEmpty())
                out.add("window_size " + w + " is not a causal [left, 0] window");
        });
        return out;
    }

    @Override
    protected void addConfig(MappingContext ctx, Map<String, Object> config) {
        config.put("sliding_window", ctx.windowSize().map(w -> MappingContext.asLong(w.get(0)).orElseThrow() + 1).orElse(null));
    }
}
