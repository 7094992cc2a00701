package ckpt.convert.analysis;

import ckpt.format.InputText;
import ckpt.format.pickle.PickleAudit;
import ckpt.format.torchsave.TorchLoadPolicy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * What the globals a checkpoint's pickles reference mean for a user about to {@code torch.load} it
 * ({@link TorchLoadPolicy}): globals outside every loader's allowlist are problems; those only the checkpoint's own
 * loader (DCP, Megatron) allowlists are a note per file.
 */
public final class PickleSafety {
    private PickleSafety() {
    }

    /** One problem per unsafe global and file. */
    public static List<Problem> problems(List<PickleAudit.Finding> findings) {
        List<Problem> out = new ArrayList<>();
        for (PickleAudit.Finding f : findings) {
            if (TorchLoadPolicy.judge(f.global()) != TorchLoadPolicy.Verdict.UNSAFE) continue;
            out.add(new Problem(f.file().toString(), null, "pickle references global " + InputText.excerpt(f.global().toString()) + " (at "
                    + f.where() + "), outside what torch.load(weights_only=True) accepts and outside "
                    + "what DCP's, Megatron's and DeepSpeed's loaders expect: loading this file with weights_only=False would import and call it"));
        }
        return out;
    }

    /** Per file: the globals only the checkpoint's own loader allowlists, as one line. */
    public static List<String> notes(List<PickleAudit.Finding> findings) {
        Map<String, TreeSet<String>> byFile = new LinkedHashMap<>();
        for (PickleAudit.Finding f : findings)
            if (TorchLoadPolicy.judge(f.global()) == TorchLoadPolicy.Verdict.LOADER_ALLOWLISTED)
                byFile.computeIfAbsent(f.file().toString(), k -> new TreeSet<>()).add(f.global().toString());
        List<String> out = new ArrayList<>();
        byFile.forEach((file, globals) -> out.add(file + ": needs globals beyond torch.load(weights_only=True)'s default set, "
                + "accepted by the loader that reads it (PyTorch DCP, Megatron or DeepSpeed): " + String.join(", ", globals)));
        return out;
    }
}
