package ckpt.format.megatron.legacy;

import ckpt.format.FormatException;
import ckpt.format.megatron.MegatronArgs;
import ckpt.format.pickle.PyDict;
import ckpt.format.torchsave.TorchSaveArchive;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One rank directory of a legacy iteration: its {@code model_optim_rng.pt} (args, iteration, checkpoint_version,
 * the rank's local model state dict(s), optimizer and RNG state) and, with the distributed optimizer, its
 * {@code distrib_optim.pt}. Tensors stay in the mapped files; {@link #view} decodes one on demand.
 */
public final class LegacyRank {
    public static final String MODEL_FILE = "model_optim_rng.pt";
    public static final String DISTRIB_OPTIM_FILE = "distrib_optim.pt";

    private final RankId id;
    private final String dirName;
    private final TorchSaveArchive model;
    private final TorchSaveArchive distribOptim;
    private final PyDict root;
    private final MegatronArgs args;

    LegacyRank(RankId id, String dirName, TorchSaveArchive model, TorchSaveArchive distribOptim) {
        this.id = id;
        this.dirName = dirName;
        this.model = model;
        this.distribOptim = distribOptim;
        if (!(model.root() instanceof PyDict d))
            throw new FormatException(model.file(), "not a Megatron checkpoint: the saved object is not a dict");
        this.root = d;
        if (!d.containsKey("args"))
            throw new FormatException(model.file(), "no 'args' in the state dict: not saved by Megatron's training loop");
        this.args = MegatronArgs.of(d.get("args"));
    }

    public RankId id() {
        return id;
    }

    /** {@code mp_rank_01_002}, as on disk. */
    public String dirName() {
        return dirName;
    }

    /** The whole saved dict of {@code model_optim_rng.pt}. */
    public PyDict state() {
        return root;
    }

    public MegatronArgs args() {
        return args;
    }

    public TorchSaveArchive modelArchive() {
        return model;
    }

    public Optional<TorchSaveArchive> distribOptimArchive() {
        return Optional.ofNullable(distribOptim);
    }

    /** File name relative to the iteration dir, e.g. {@code mp_rank_00/model_optim_rng.pt}. */
    public String modelFileName() {
        return dirName + "/" + MODEL_FILE;
    }

    public String distribOptimFileName() {
        return dirName + "/" + DISTRIB_OPTIM_FILE;
    }

    public Long iteration() {
        return root.get("iteration") instanceof Long l ? l : null;
    }

    /** {@code checkpoint_version} as saved (3.0 today); null when absent (Megatron then assumes 0). */
    public Double checkpointVersion() {
        Object v = root.get("checkpoint_version");
        if (v instanceof Double x) return x;
        if (v instanceof Long l) return l.doubleValue();
        return null;
    }

    /**
     * The model state dicts, one per virtual-pipeline chunk: {@code model} alone, or {@code model0 … model{n-1}}
     * ({@code generate_state_dict}). Index = virtual stage.
     */
    public List<PyDict> modelChunks(int expected) {
        if (expected <= 1) {
            Object m = root.get("model");
            if (m instanceof PyDict d) return List.of(d);
            throw new FormatException(model.file(), root.containsKey("model0")
                    ? "holds virtual-pipeline chunks 'model0'… but the args say there is no virtual pipeline"
                    : "no 'model' state dict (saved without the model?)");
        }
        List<PyDict> out = new ArrayList<>(expected);
        for (int i = 0; i < expected; i++) {
            Object c = root.get("model" + i);
            if (!(c instanceof PyDict d))
                throw new FormatException(model.file(), "virtual pipeline size is " + expected + " but 'model" + i
                        + "' is " + (c == null ? "missing" : "not a state dict"));
            out.add(d);
        }
        if (root.containsKey("model" + expected))
            throw new FormatException(model.file(), "holds 'model" + expected + "' but the args say " + expected + " model chunks");
        return out;
    }

    @Override
    public String toString() {
        return dirName;
    }
}
