package ckpt.convert.diff;

import java.util.List;

/**
 * The result of {@code ckpt diff A B}: one entry per compared name, in A's order then B-only names.
 *
 * @param namingA           the naming A's tensors were matched under (e.g. {@code huggingface llama}), likewise B
 * @param optimizerCompared whether optimizer state was compared ({@code --optimizer})
 * @param optimizerSkipped  optimizer tensors present but not compared (without {@code --optimizer})
 */
public record DiffReport(Side a, Side b, String namingA, String namingB, double atol, double rtol,
                         boolean optimizerCompared, int optimizerSkipped, List<TensorDiff> tensors) {
    /** One input: its path, format and iteration (null where the format has none). */
    public record Side(String path, String format, Long iteration) {
    }

    public DiffReport {
        tensors = List.copyOf(tensors);
    }

    /** Exit 0 of {@code ckpt diff}: every compared tensor is the same within the tolerances, none missing. */
    public boolean identical() {
        return tensors.stream().allMatch(TensorDiff::same);
    }

    public long count(TensorDiff.Status s) {
        return tensors.stream().filter(t -> t.status() == s).count();
    }
}
