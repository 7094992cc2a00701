package ckpt.convert.mapping;

import ckpt.format.FormatException;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The HF families ckpt can write, and {@code --arch auto}: the first family with no mismatch wins. Families are
 * mutually exclusive by their mismatch rules (Llama refuses windows, q/k norm, MoE…), so order only breaks ties.
 * Adding a family = one class + one line here.
 */
public final class HfMappings {
    private static final List<HfMapping> ALL = List.of(new LlamaMapping(), new MistralMapping(), new Gpt2Mapping());

    private HfMappings() {
    }

    public static List<HfMapping> all() {
        return ALL;
    }

    public static List<String> names() {
        return ALL.stream().map(HfMapping::name).toList();
    }

    public static Optional<HfMapping> byName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return ALL.stream().filter(m -> m.name().equals(n)).findFirst();
    }

    /**
     * The family for {@code arch} ({@code auto} or a name). An explicit family that cannot represent the checkpoint,
     * or no family at all for {@code auto}, is an error listing the reasons and what is supported.
     */
    public static HfMapping choose(String arch, MappingContext ctx) {
        if (arch == null || arch.equalsIgnoreCase("auto")) {
            List<String> why = new ArrayList<>();
            for (HfMapping m : ALL) {
                List<String> mm = m.mismatches(ctx);
                if (mm.isEmpty()) return m;
                why.add(m.name() + ": " + String.join(", ", mm));
            }
            throw new FormatException(ctx.index().path(), "no supported architecture fits this checkpoint (supported: "
                    + String.join(", ", names()) + "; " + String.join("; ", why) + ")");
        }
        HfMapping m = byName(arch).orElseThrow(() -> new IllegalArgumentException("unknown --arch '" + arch
                + "' (supported: auto, " + String.join(", ", names()) + ")"));
        List<String> mm = m.mismatches(ctx);
        if (!mm.isEmpty())
            throw new FormatException(ctx.index().path(), "cannot convert to " + m.architecture() + ": "
                    + mm.stream().collect(Collectors.joining(", ")) + " (supported: " + String.join(", ", names()) + ")");
        return m;
    }
}
