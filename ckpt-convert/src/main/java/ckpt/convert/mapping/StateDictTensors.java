package ckpt.convert.mapping;

import ckpt.convert.index.CheckpointFormat;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.GlobalTensor;
import ckpt.convert.plan.KeyFilter;
import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.TensorSlice;
import ckpt.format.FormatException;
import ckpt.format.megatron.KeyCategory;

import java.util.ArrayList;
import java.util.List;

/**
 * The model's state dict of a checkpoint that is not Megatron's, for {@code --format pytorch} and
 * {@code --format safetensors}: tensors under their own names, no architecture mapping.
 * <ul>
 *   <li>PyTorch DCP app state ({@code dcp.save({"model": …, "optim": …})}): the keys under {@code model.}, with that
 *       prefix stripped so the names are the module's {@code state_dict()} keys; a flat state dict (no
 *       {@code model.} keys) gives every tensor classified as a model weight (not optimizer, scheduler or RNG
 *       state), as it is;</li>
 *   <li>torch.save files: every tensor classified as a model weight, under its path in the saved object;</li>
 *   <li>safetensors files or HF directories: every tensor, as it is.</li>
 * </ul>
 * {@code --include}/{@code --exclude} globs match the stored keys (as {@code ckpt inspect} lists them); an include
 * replaces the default choice, so {@code --include 'optim.*'} writes optimizer state too.
 */
public final class StateDictTensors {
    private static final String MODEL_PREFIX = "model.";

    private StateDictTensors() {
    }

    public static List<OutputTensor> tensors(CheckpointIndex index, KeyFilter filter) {
        boolean dcp = index.format() == CheckpointFormat.DCP;
        boolean appState = dcp && index.tensors().stream().anyMatch(StateDictTensors::isModelEntry);
        List<OutputTensor> out = new ArrayList<>();
        for (GlobalTensor t : index.tensors()) {
            boolean byDefault = switch (index.format()) {
                case DCP -> appState ? isModelEntry(t) : t.category() == KeyCategory.MODEL_WEIGHT;
                case SAFETENSORS -> true;
                default -> t.category() == KeyCategory.MODEL_WEIGHT;
            };
            if (!filter.test(t.key(), byDefault)) continue;
            String name = dcp && t.key().startsWith(MODEL_PREFIX) ? t.key().substring(MODEL_PREFIX.length()) : t.key();
            out.add(OutputTensor.of(name, TensorSlice.whole(t)));
        }
        if (out.isEmpty())
            throw new FormatException(index.path(), filter.isEmpty()
                    ? "no model tensors in this checkpoint (nothing under 'model.' and no tensor classified as a model weight; choose keys with --include GLOB)"
                    : "no tensor matches " + filter + " (list the keys with: ckpt inspect --json)");
        return out;
    }

    private static boolean isModelEntry(GlobalTensor t) {
        return t.key().startsWith(MODEL_PREFIX) && t.category() == KeyCategory.MODEL_WEIGHT;
    }
}
