package ckpt.convert.plan;

import ckpt.convert.index.KeyGlob;

import java.util.List;

/**
 * {@code --include GLOB} / {@code --exclude GLOB}: which tensors a conversion writes. With no include, the format's
 * own choice of model weights stands; with includes, exactly the keys matching one of them; excludes then remove.
 */
public record KeyFilter(List<String> include, List<String> exclude) {
    public static final KeyFilter NONE = new KeyFilter(List.of(), List.of());

    public KeyFilter {
        include = include == null ? List.of() : List.copyOf(include);
        exclude = exclude == null ? List.of() : List.copyOf(exclude);
    }

    public boolean choosesKeys() {
        return !include.isEmpty();
    }

    public boolean isEmpty() {
        return include.isEmpty() && exclude.isEmpty();
    }

    /** Whether a key the default rule chose (or any key, with includes) is written. */
    public boolean test(String key, boolean chosenByDefault) {
        boolean in = include.isEmpty() ? chosenByDefault : include.stream().map(KeyGlob::of).anyMatch(p -> p.test(key));
        return in && exclude.stream().map(KeyGlob::of).noneMatch(p -> p.test(key));
    }

    @Override
    public String toString() {
        return (include.isEmpty() ? "" : "--include " + String.join(" --include ", include))
                + (exclude.isEmpty() ? "" : (include.isEmpty() ? "" : " ") + "--exclude " + String.join(" --exclude ", exclude));
    }
}
