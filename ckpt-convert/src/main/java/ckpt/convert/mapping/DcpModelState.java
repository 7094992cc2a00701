package ckpt.convert.mapping;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.GlobalTensor;
import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.TensorSlice;
import ckpt.format.FormatException;
import ckpt.format.megatron.KeyCategory;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code --format pytorch} for a plain DCP app state ({@code dcp.save({"model": …, "optim": …})}): the tensors
 * under {@code model.}, with that prefix stripped so the keys are the module's {@code state_dict()} keys. A flat
 * state dict saved without an app-state wrapper has no {@code model.} keys; then every model-weight tensor is
 * written as it is.
 */
public final class DcpModelState {
    private static final String PREFIX = "model.";

    private DcpModelState() {
    }

    public static List<OutputTensor> tensors(CheckpointIndex index) {
        List<OutputTensor> out = new ArrayList<>();
        for (GlobalTensor t : index.tensors())
            if (t.key().startsWith(PREFIX) && t.category() == KeyCategory.MODEL_WEIGHT)
                out.add(OutputTensor.of(t.key().substring(PREFIX.length()), TensorSlice.whole(t)));
        if (out.isEmpty())
            for (GlobalTensor t : index.tensors())
                if (t.category() == KeyCategory.MODEL_WEIGHT) out.add(OutputTensor.of(t.key(), TensorSlice.whole(t)));
        if (out.isEmpty()) throw new FormatException(index.path(), "no model tensors in this checkpoint (nothing under 'model.')");
        return out;
    }
}
