package ckpt.convert.exec;

import ckpt.convert.analysis.VerifyProgress;
import ckpt.convert.diff.CheckpointDiff;
import ckpt.convert.diff.DiffOptions;
import ckpt.convert.diff.DiffReport;
import ckpt.convert.diff.TensorDiff;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code diff} through a mapping that transposes (GPT-2 Conv1D) and reorders (c_attn), in blocks of a few rows. */
class Gpt2DiffTest {
    @TempDir
    Path tmp;

    @Test
    void gpt2ExportComparesEqualThroughTransposedViews() throws Exception {
        SyntheticMegatron s = Gpt2ConvertTest.gpt2(true);
        Path out = tmp.resolve("gpt2");
        try (CheckpointIndex index = s.index(tmp.resolve("ckpt"))) {
            new Converter().convert(index, ConvertOptions.of(index.path(), OutputFormat.HUGGINGFACE, out), ConversionListener.NONE);
            for (DiffOptions o : new DiffOptions[]{DiffOptions.defaults(), DiffOptions.defaults().withBlockBytes(64).withThreads(2)}) {
                try (CheckpointIndex hf = Checkpoints.open(out)) {
                    DiffReport r = new CheckpointDiff(o).compare(index, hf, VerifyProgress.NONE);
                    assertThat(r.namingA()).isEqualTo("huggingface gpt2");
                    assertThat(r.tensors()).hasSize(2 + 12 * Gpt2ConvertTest.L + 2)
                            .allSatisfy(t -> assertThat(t.status()).as(t.name()).isEqualTo(TensorDiff.Status.SAME));
                    TensorDiff cAttn = r.tensors().stream().filter(t -> t.name().equals("transformer.h.1.attn.c_attn.weight")).findFirst().orElseThrow();
                    assertThat(cAttn.nameA()).isEqualTo("decoder.layers.self_attention.linear_qkv.weight[1]");
                    assertThat(cAttn.shapeA()).containsExactly(Gpt2ConvertTest.H, 3 * Gpt2ConvertTest.H);
                }
            }
        }
    }
}
