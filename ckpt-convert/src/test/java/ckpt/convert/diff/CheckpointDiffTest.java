package ckpt.convert.diff;

import ckpt.convert.analysis.VerifyProgress;
import ckpt.convert.exec.ConversionListener;
import ckpt.convert.exec.ConvertOptions;
import ckpt.convert.exec.Converter;
import ckpt.convert.exec.OutputFormat;
import ckpt.format.safetensors.SafetensorsEntry;
import ckpt.format.safetensors.SafetensorsFile;
import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code ckpt diff} on the real Megatron fixtures: each against its own HF export written by {@code convert} (names
 * brought together through the HF mapping), a damaged copy of that export, the legacy/torch_dist twins, and two
 * iterations of one run. (The 8B fixture holds metadata only, no tensor bytes, so it has nothing to compare.)
 */
class CheckpointDiffTest {
    @TempDir
    Path tmp;

    /** Small blocks and several threads, so the multi-block and parallel paths run on these small tensors. */
    static final DiffOptions SMALL_BLOCKS = DiffOptions.defaults().withThreads(3).withBlockBytes(4096);

    static Path hfExport(Path checkpoint, Path out) throws IOException {
        new Converter().convert(ConvertOptions.of(checkpoint, OutputFormat.HUGGINGFACE, out), ConversionListener.NONE);
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"megatron-llama-tp2", "megatron-llama-tp2-core014", "megatron-llama-tp2-legacy-torch", "megatron-qwen3-tp2"})
    void everyMegatronFixtureEqualsItsOwnHfExport(String fixture) throws IOException {
        Path ckpt = Fixtures.path(fixture, "checkpoint");
        Path hf = hfExport(ckpt, tmp.resolve("hf"));
        for (DiffOptions o : new DiffOptions[]{DiffOptions.defaults(), SMALL_BLOCKS}) {
            DiffReport r = new CheckpointDiff(o).compare(ckpt, hf, VerifyProgress.NONE);
            assertThat(r.namingA()).startsWith("huggingface ");
            assertThat(r.namingB()).isEqualTo("checkpoint keys");
            assertThat(r.tensors()).isNotEmpty().allSatisfy(t -> {
                assertThat(t.status()).as(t.name()).isEqualTo(TensorDiff.Status.SAME);
                assertThat(t.differing()).isZero();
                assertThat(t.maxAbsDiff()).isZero();
                assertThat(t.cosine()).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-12));
            });
            assertThat(r.identical()).isTrue();
            // Both directions.
            assertThat(new CheckpointDiff(o).compare(hf, ckpt, VerifyProgress.NONE).identical()).isTrue();
        }
    }

    @Test
    void oneChangedElementIsNamedUnderEachInputsOwnName() throws IOException {
        Path ckpt = Fixtures.path("megatron-llama-tp2", "checkpoint");
        Path hf = hfExport(ckpt, tmp.resolve("hf"));
        String target = "model.layers.2.mlp.down_proj.weight"; // [64, 192], from linear_fc2.weight layer 2
        long row = 5, col = 7;
        try (SafetensorsFile f = SafetensorsFile.open(hf.resolve("model-00001-of-00001.safetensors"))) {
            SafetensorsEntry e = f.header().entry(target).orElseThrow();
            long at = f.header().dataStart() + e.begin() + (row * 192 + col) * 2;
            try (RandomAccessFile raf = new RandomAccessFile(hf.resolve("model-00001-of-00001.safetensors").toFile(), "rw")) {
                raf.seek(at + 1);
                int hi = raf.read();
                raf.seek(at + 1);
                raf.write(hi ^ 0x40); // flips an exponent bit of that bf16 element
            }
        }
        DiffReport r = new CheckpointDiff(SMALL_BLOCKS).compare(ckpt, hf, VerifyProgress.NONE);
        assertThat(r.identical()).isFalse();
        Map<TensorDiff.Status, Long> counts = r.tensors().stream().collect(Collectors.groupingBy(TensorDiff::status, Collectors.counting()));
        assertThat(counts).containsEntry(TensorDiff.Status.DIFFERENT, 1L).containsEntry(TensorDiff.Status.SAME, 38L);
        TensorDiff d = r.tensors().stream().filter(t -> !t.same()).findFirst().orElseThrow();
        assertThat(d.name()).isEqualTo(target);
        assertThat(d.nameA()).isEqualTo("decoder.layers.mlp.linear_fc2.weight[2]");
        assertThat(d.nameB()).isEqualTo(target);
        assertThat(d.differing()).isEqualTo(1);
        assertThat(d.numel()).isEqualTo(64 * 192);
        assertThat(d.maxAbsDiff()).isPositive();
        assertThat(d.firstA()).isEqualTo("decoder.layers.mlp.linear_fc2.weight[2, 5, 7]");
        assertThat(d.firstB()).isEqualTo(target + "[5, 7]");

        // Reversed: A is the HF export, B the Megatron save.
        DiffReport rev = new CheckpointDiff(DiffOptions.defaults()).compare(hf, ckpt, VerifyProgress.NONE);
        TensorDiff dr = rev.tensors().stream().filter(t -> !t.same()).findFirst().orElseThrow();
        assertThat(dr.nameA()).isEqualTo(target);
        assertThat(dr.nameB()).isEqualTo("decoder.layers.mlp.linear_fc2.weight[2]");
        assertThat(dr.firstB()).isEqualTo("decoder.layers.mlp.linear_fc2.weight[2, 5, 7]");

        // A tolerance larger than the change makes them equal again; the filter can leave the tensor out.
        double big = d.maxAbsDiff() * 2;
        assertThat(new CheckpointDiff(DiffOptions.defaults().withTolerances(big, 0)).compare(ckpt, hf, VerifyProgress.NONE).identical()).isTrue();
        assertThat(new CheckpointDiff(DiffOptions.defaults().withFilter(n -> !n.contains("down_proj") && !n.contains("linear_fc2")))
                .compare(ckpt, hf, VerifyProgress.NONE).identical()).isTrue();
    }

    @Test
    void legacyTorchEqualsItsTorchDistTwinUnderTheirOwnKeys() {
        DiffReport r = new CheckpointDiff(SMALL_BLOCKS).compare(Fixtures.path("megatron-llama-tp2-legacy-torch", "checkpoint"),
                Fixtures.path("megatron-llama-tp2", "checkpoint"), VerifyProgress.NONE);
        assertThat(r.namingA()).isEqualTo("checkpoint keys");
        assertThat(r.namingB()).isEqualTo("checkpoint keys");
        assertThat(r.tensors()).hasSize(9).allSatisfy(t -> assertThat(t.status()).isEqualTo(TensorDiff.Status.SAME));
        assertThat(r.optimizerSkipped()).isPositive();
    }

    @Test
    void iterationsTwoAndFourDifferInEveryWeightWithPlausibleStatistics() {
        Path run = Fixtures.path("megatron-llama-tp2", "checkpoint");
        DiffReport r = new CheckpointDiff(SMALL_BLOCKS).compare(run.resolve("iter_0000002"), run.resolve("iter_0000004"), VerifyProgress.NONE);
        assertThat(r.a().iteration()).isEqualTo(2);
        assertThat(r.b().iteration()).isEqualTo(4);
        assertThat(r.tensors()).hasSize(9).allSatisfy(t -> {
            assertThat(t.status()).as(t.name()).isEqualTo(TensorDiff.Status.DIFFERENT);
            assertThat(t.nameA()).isEqualTo(t.nameB()).isEqualTo(t.name());
            assertThat(t.differing()).isBetween(1L, t.numel());
            // Two Adam steps at a small learning rate: small absolute changes, directions nearly unchanged.
            assertThat(t.maxAbsDiff()).isPositive().isLessThan(0.05);
            assertThat(t.meanAbsDiff()).isPositive().isLessThanOrEqualTo(t.maxAbsDiff());
            assertThat(t.cosine()).isBetween(0.95, 1.0);
            assertThat(t.relativeL2()).isPositive().isLessThan(0.2);
            assertThat(t.normA()).isPositive();
            assertThat(t.firstA()).isEqualTo(t.firstB());
        });
        // Matrices change almost everywhere; the same statistics whatever the block size and thread count.
        TensorDiff fc1 = r.tensors().stream().filter(t -> t.name().equals("decoder.layers.mlp.linear_fc1.weight")).findFirst().orElseThrow();
        assertThat(fc1.differing()).isGreaterThan(fc1.numel() * 9 / 10);
        DiffReport whole = new CheckpointDiff(DiffOptions.defaults().withThreads(1)).compare(run.resolve("iter_0000002"), run.resolve("iter_0000004"), VerifyProgress.NONE);
        assertThat(whole.tensors()).usingRecursiveFieldByFieldElementComparatorIgnoringFields("maxAbsDiff", "maxRelDiff", "meanAbsDiff", "cosine", "normA", "normB", "relativeL2")
                .isEqualTo(r.tensors());
        for (int i = 0; i < r.tensors().size(); i++) {
            assertThat(whole.tensors().get(i).maxAbsDiff()).isEqualTo(r.tensors().get(i).maxAbsDiff());
            assertThat(whole.tensors().get(i).cosine()).isCloseTo(r.tensors().get(i).cosine(), org.assertj.core.data.Offset.offset(1e-12));
        }
    }

    @Test
    void unmappingAfterEveryBlockWhileOtherThreadsReadGivesTheSameResult() {
        Path run = Fixtures.path("megatron-llama-tp2", "checkpoint");
        DiffOptions o = DiffOptions.defaults().withThreads(4).withBlockBytes(8192).withOptimizer(true);
        DiffReport calm = new CheckpointDiff(o).compare(run.resolve("iter_0000002"), run.resolve("iter_0000004"), VerifyProgress.NONE);
        DiffReport stressed = new CheckpointDiff(o, 1).compare(run.resolve("iter_0000002"), run.resolve("iter_0000004"), VerifyProgress.NONE);
        assertThat(stressed.tensors()).hasSize(15);
        for (int i = 0; i < calm.tensors().size(); i++) {
            TensorDiff c = calm.tensors().get(i), s = stressed.tensors().get(i);
            assertThat(s.differing()).as(s.name()).isEqualTo(c.differing());
            assertThat(s.maxAbsDiff()).as(s.name()).isEqualTo(c.maxAbsDiff());
            assertThat(s.firstA()).isEqualTo(c.firstA());
        }
    }

    @Test
    void optimizerStateOnlyWithTheOption() {
        Path run = Fixtures.path("megatron-llama-tp2", "checkpoint");
        DiffReport without = new CheckpointDiff(DiffOptions.defaults()).compare(run.resolve("iter_0000004"), run.resolve("iter_0000004"), VerifyProgress.NONE);
        assertThat(without.tensors()).hasSize(9);
        assertThat(without.optimizerSkipped()).isEqualTo(12);
        DiffReport with = new CheckpointDiff(DiffOptions.defaults().withOptimizer(true)).compare(run.resolve("iter_0000002"), run.resolve("iter_0000004"), VerifyProgress.NONE);
        assertThat(with.optimizerCompared()).isTrue();
        assertThat(with.tensors()).hasSize(9 + 6);
        assertThat(with.tensors().subList(9, 15)).allSatisfy(t -> {
            assertThat(t.name()).startsWith("optimizer.");
            assertThat(t.status()).isEqualTo(TensorDiff.Status.DIFFERENT);
        });
    }
}
