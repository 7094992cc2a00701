package ckpt.convert.diff;

import ckpt.convert.exec.ConvertOptions;
import ckpt.convert.exec.Converter;
import ckpt.convert.exec.OutputFormat;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.GlobalTensor;
import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.TensorSlice;
import ckpt.format.FormatException;
import ckpt.format.megatron.KeyCategory;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The one place {@code diff} touches the conversion mappings: a checkpoint's model tensors under every naming ckpt
 * can give them — its own keys, the names {@code convert --format pytorch} writes (mcore module names, un-stacked;
 * a DCP app state without {@code model.}), and the names {@code convert --format huggingface} writes (the detected
 * family; vocabulary padding trimmed, and kept). Each naming comes from the same plan {@code convert} builds, so a
 * checkpoint compares equal to its own export by construction of the names, and by value only if the bytes agree.
 */
public final class MappingAdapter {
    static final Set<KeyCategory> OPTIMIZER = EnumSet.of(KeyCategory.OPTIMIZER_MASTER, KeyCategory.OPTIMIZER_EXP_AVG,
            KeyCategory.OPTIMIZER_EXP_AVG_SQ, KeyCategory.OPTIMIZER_OTHER);

    private MappingAdapter() {
    }

    /** The namings of {@code index}'s model weights, own keys first; namings that do not apply are left out. */
    public static List<NamingView> views(CheckpointIndex index) {
        List<NamingView> out = new ArrayList<>();
        List<ViewTensor> own = byCategory(index, EnumSet.of(KeyCategory.MODEL_WEIGHT));
        out.add(new NamingView("checkpoint keys", own));
        // A wrapper every key shares (torch.save's {"model_state_dict": …}, {"model": …}, DDP's "module."), off.
        for (int depth = 1; depth <= 2; depth++) {
            String prefix = commonPrefix(own, depth);
            if (prefix == null) break;
            List<ViewTensor> stripped = own.stream().map(t -> new ViewTensor(t.name().substring(prefix.length()), t.tensor())).toList();
            out.add(new NamingView("checkpoint keys without '" + prefix + "'", stripped));
        }
        plan(index, OutputFormat.PYTORCH, false, "module names").ifPresent(out::add);
        plan(index, OutputFormat.HUGGINGFACE, false, "huggingface").ifPresent(out::add);
        plan(index, OutputFormat.HUGGINGFACE, true, "huggingface, padded vocabulary").ifPresent(out::add);
        return out;
    }

    /** The first {@code depth} dotted components, when every key has them and more; else null. */
    private static String commonPrefix(List<ViewTensor> tensors, int depth) {
        String prefix = null;
        for (ViewTensor t : tensors) {
            String[] parts = t.name().split("\\.", depth + 1);
            if (parts.length <= depth) return null;
            String p = String.join(".", java.util.Arrays.copyOf(parts, depth)) + ".";
            if (prefix == null) prefix = p;
            else if (!prefix.equals(p)) return null;
        }
        return prefix;
    }

    /** Optimizer state tensors by their own keys (they have no other naming). */
    public static List<ViewTensor> optimizerState(CheckpointIndex index) {
        return byCategory(index, OPTIMIZER);
    }

    private static List<ViewTensor> byCategory(CheckpointIndex index, Set<KeyCategory> categories) {
        List<ViewTensor> out = new ArrayList<>();
        for (GlobalTensor t : index.tensors())
            if (categories.contains(t.category()) && !t.key().contains("_extra_state"))
                out.add(new ViewTensor(t.key(), OutputTensor.of(t.key(), TensorSlice.whole(t))));
        return out;
    }

    private static java.util.Optional<NamingView> plan(CheckpointIndex index, OutputFormat format, boolean keepPadded, String naming) {
        ConvertOptions o = ConvertOptions.of(index.path(), format, index.path()).withKeepPaddedVocab(keepPadded);
        Converter.Planned p;
        try {
            p = Converter.plan(index, o);
        } catch (FormatException | IllegalArgumentException e) {
            return java.util.Optional.empty(); // this naming does not apply to this checkpoint
        }
        List<ViewTensor> tensors = p.plan().tensors().stream().map(t -> new ViewTensor(t.name(), t)).toList();
        String name = p.family() == null ? naming : naming.replace("huggingface", "huggingface " + p.family().name());
        return java.util.Optional.of(new NamingView(name, tensors));
    }
}
