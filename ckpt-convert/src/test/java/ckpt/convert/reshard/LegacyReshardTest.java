package ckpt.convert.reshard;

import ckpt.convert.analysis.Verifier;
import ckpt.convert.analysis.VerifyProgress;
import ckpt.convert.analysis.VerifyReport;
import ckpt.convert.exec.ConversionListener;
import ckpt.format.FormatException;
import ckpt.format.megatron.MegatronCheckpoint;
import ckpt.format.megatron.Plain;
import ckpt.format.pickle.PyDict;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code ckpt reshard} of the legacy fixture (megatron-llama-tp2-legacy-torch: TP=2, distributed optimizer,
 * {@code --ckpt-format torch}) against the reshard of its torch_dist twin (megatron-llama-tp2: same command, seed and
 * data, dp_reshardable) at the same target layout: every global tensor, model and {@code optimizer.state.*}, equal bit
 * for bit; the model also equal to PyTorch's sha256 of the twin's tensors; both outputs sound under
 * {@code verify --deep}; step, param groups and scheduler equal.
 */
class LegacyReshardTest {
    private static final String LEGACY = "megatron-llama-tp2-legacy-torch", TWIN = "megatron-llama-tp2", ITER = "iter_0000004";

    @TempDir
    Path tmp;

    private static ReshardResult reshard(Path src, Path out, int tp, OptimizerChoice o) throws Exception {
        return new Resharder().reshard(ReshardOptions.of(src, out).withLayout(tp, 1).withOptimizer(o), ConversionListener.NONE);
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 1})
    void legacyReshardEqualsTheTwinsReshardBitForBit(int tp) throws Exception {
        Path legacy = tmp.resolve("legacy"), twin = tmp.resolve("twin");
        ReshardResult l = reshard(Fixtures.path(LEGACY, "checkpoint"), legacy, tp, null);
        reshard(Fixtures.path(TWIN, "checkpoint", ITER), twin, tp, null);
        assertThat(l.sourceOptimizer()).isEqualTo(LegacySource.FORMAT);
        assertThat(l.optimizer()).isEqualTo("fully_reshardable");
        assertThat(l.source()).isEqualTo(new ReshardInput.Layout(2, 1));
        assertThat(l.target()).isEqualTo(new ReshardInput.Layout(tp, 1));
        assertThat(l.modelTensors()).isEqualTo(9);
        assertThat(l.optimizerTensors()).isEqualTo(27);
        assertThat(l.iteration()).isEqualTo(ITER);
        assertThat(Files.readString(legacy.resolve("latest_checkpointed_iteration.txt"))).isEqualTo("4");

        Map<String, String> got = ReshardTest.globalSha(legacy);
        assertThat(got).hasSize(9 + 27).isEqualTo(ReshardTest.globalSha(twin));
        JsonNode ref = Fixtures.json(TWIN, "reference", ITER, "tensors.json");
        for (String k : got.keySet())
            if (!k.startsWith("optimizer.")) assertThat(got.get(k)).as(k).isEqualTo(ref.get(k).get("sha256").asText());

        for (Path out : new Path[]{legacy, twin}) {
            VerifyReport v = new Verifier(true, VerifyProgress.NONE).verify(out);
            assertThat(v.problems()).as(out.toString()).isEmpty();
            assertThat(v.sound()).isTrue();
        }
        try (MegatronCheckpoint a = MegatronCheckpoint.open(legacy.resolve(ITER)); MegatronCheckpoint b = MegatronCheckpoint.open(twin.resolve(ITER))) {
            PyDict ca = a.common(), cb = b.common();
            assertThat(a.optimizerFormat()).isEqualTo("fully_reshardable");
            for (String k : new String[]{"iteration", "checkpoint_version", "opt_param_scheduler", "optimizer", "content_metadata",
                    "num_floating_point_operations_so_far"})
                assertThat(Plain.of(ca.get(k))).as(k).isEqualTo(Plain.of(cb.get(k)));
            // the RNG state is not carried over from mp_rank_* files; the args say so, as Megatron's own saves do
            assertThat(a.args().getBool("no_save_rng", false)).isTrue();
            assertThat(a.args().getLong("num_layers")).isEqualTo(b.args().getLong("num_layers"));
            // each layer's _extra_state ShardedObject, as the twin saves it ([None]: no FP8)
            var extra = b.dcp().metadata().bytesItems().stream().filter(k -> k.contains("._extra_state/")).toList();
            assertThat(extra).hasSize(16);
            assertThat(a.dcp().metadata().bytesItems()).containsExactlyInAnyOrderElementsOf(
                    Stream.concat(Stream.of(MegatronCheckpoint.COMMON_ITEM), extra.stream()).toList());
            for (String k : extra) assertThat(Plain.of(a.dcp().readObject(k))).as(k).isEqualTo(Plain.of(b.dcp().readObject(k)));
        }
        assertThat(Files.readAllBytes(legacy.resolve(ITER).resolve("metadata.json")))
                .isEqualTo(Files.readAllBytes(Fixtures.path(TWIN, "checkpoint", ITER, "metadata.json")));
    }

    @Test
    void droppedOptimizerAndModelOnlyLegacySaves() throws Exception {
        Path drop = tmp.resolve("drop");
        ReshardResult r = reshard(Fixtures.path(LEGACY, "checkpoint", ITER), drop, 1, OptimizerChoice.DROP);
        assertThat(r.optimizer()).isNull();
        assertThat(r.sourceOptimizer()).isEqualTo(LegacySource.FORMAT); // there, and dropped
        assertThat(r.optimizerTensors()).isZero();
        Map<String, String> model = ReshardTest.globalSha(drop);
        assertThat(model).hasSize(9).allSatisfy((k, v) -> assertThat(k).doesNotStartWith("optimizer."));
        try (MegatronCheckpoint mc = MegatronCheckpoint.open(drop.resolve(ITER))) {
            assertThat(mc.args().getBool("no_save_optim", false)).isTrue();
            assertThat(mc.common().containsKey("optimizer")).isFalse();
        }

        // without its distrib_optim.pt files (a copy: fixtures are never changed) the model still reshards with --optimizer drop
        Path copy = Fixtures.copyTree(Fixtures.path(LEGACY, "checkpoint", ITER), tmp.resolve("src/" + ITER));
        for (String rank : new String[]{"mp_rank_00", "mp_rank_01"}) Files.delete(copy.resolve(rank).resolve("distrib_optim.pt"));
        // model_optim_rng.pt still holds the optimizer entry, so the state is wanted by default and refused with one line
        assertThatThrownBy(() -> reshard(copy, tmp.resolve("missing"), 1, null)).isInstanceOf(FormatException.class)
                .hasMessageContaining("distrib_optim.pt").hasMessageContaining("--optimizer drop");
        assertThat(tmp.resolve("missing")).doesNotExist();
        r = reshard(copy, tmp.resolve("model-only"), 1, OptimizerChoice.DROP);
        assertThat(r.sourceOptimizer()).isNull();
        assertThat(ReshardTest.globalSha(tmp.resolve("model-only"))).isEqualTo(model);
        assertThat(new Verifier(true, VerifyProgress.NONE).verify(tmp.resolve("model-only")).sound()).isTrue();
    }
}
