package ckpt.bench;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.convert.exec.ConversionListener;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.index.GlobalTensor;
import ckpt.convert.reshard.ReshardOptions;
import ckpt.convert.reshard.ReshardResult;
import ckpt.convert.reshard.Resharder;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code ckpt reshard} of the generator's dp_reshardable checkpoints — PP&gt;1, DP&gt;1 and several buckets, which no real
 * fixture has — against the generator's own per-parameter values.
 *
 * <p>What the reference is independent of: the generator writes each parameter's optimizer state into the buckets
 * with its own layout code ({@link MegatronLayout#buckets}: reverse registration order, 64-element aligned starts,
 * {@code --ddp-bucket-size} closing, no bucketing after stage 0, DP shards of the lcm(DP, 128)-padded bucket) and its
 * own TP pieces (SwiGLU gate/up rows), not ckpt's {@code BucketLayout}, {@code RegistrationOrder} or {@code TpSplit};
 * the expected tensors are the generator's value streams for {@code optimizer.state.<state>.<key>} (the keys a
 * fully_reshardable save has), hashed without reading any checkpoint. What it is NOT independent of: both sides were
 * written in this project from the same reading of Megatron's {@code param_and_grad_buffer.py} and
 * {@code distrib_optimizer.py} (FORMATS.md §4.7), so a misreading shared by both would not show here — the real
 * fixtures' tests ({@code ReshardTest}, against PyTorch's bucket sha256s) and the Megatron load on the GPU box cover that.
 */
class SyntheticReshardTest {
    @ParameterizedTest(name = "TP {0} PP {1} DP {2}, bucket size {3} → TP {4} PP {5}")
    @CsvSource({"2, 2, 2, 20000, 2, 2", "2, 2, 2, 20000, 1, 1", "1, 2, 3, 9000, 2, 1", "2, 1, 4, 0, 1, 2"})
    void dpReshardableBucketsBecomeTheGeneratorsPerParameterState(int tp, int pp, int dp, long bucket, int toTp, int toPp,
                                                                @TempDir Path tmp) throws IOException {
        Path src = tmp.resolve("src"), out = tmp.resolve("out");
        String[] args = {"--shape", "tiny", "--tp", "" + tp, "--pp", "" + pp, "--dp", "" + dp, "--bucket-size", "" + bucket,
                "--optimizer", "dp_reshardable", "--seed", "77", "--out", src.toString()};
        SyntheticCheckpoint.Options o = SyntheticCheckpoint.parse(args);
        SyntheticCheckpoint.write(o, new PrintStream(new ByteArrayOutputStream()));
        if (bucket > 0) { // the case exercises several buckets on stage 0
            List<String> keys = new ArrayList<>();
            Fixtures.json(src.resolve("tensors-sha256.json")).fieldNames().forEachRemaining(keys::add);
            assertThat(keys).anyMatch(k -> k.contains(".bucket_idx_1."));
        }

        ReshardResult r = new Resharder().reshard(ReshardOptions.of(src, out).withLayout(toTp, toPp), ConversionListener.NONE);
        assertThat(r).isNotNull();

        // The expected tensors: the same model and seed laid out fully_reshardable, hashed from the value streams alone.
        MegatronLayout expected = new MegatronLayout(o.shape(), 1, 1, 1, MegatronLayout.Optimizer.FULLY_RESHARDABLE, 0, 100);
        Values values = new Values(77);
        Map<String, String> want = new TreeMap<>();
        for (MegatronLayout.Tensor t : expected.tensors()) want.put(t.key(), expected.sha256(values, t));

        Map<String, String> got = new TreeMap<>();
        try (CheckpointIndex idx = Checkpoints.open(out); Arena arena = Arena.ofConfined()) {
            // (the saved args keep the source's TP/PP: Megatron compares them with the run's to skip the old RNG state)
            assertThat(idx.parallelism().optimizerFormat()).isEqualTo("fully_reshardable");
            for (GlobalTensor t : idx.tensors()) {
                if (t.key().equals("output_layer.weight")) assertThat(t.pieces()).as("chunks at the target TP").hasSize(toTp);
                MemorySegment s = arena.allocate(t.byteSize());
                TensorAssembler.assemble(t, s);
                got.put(t.key(), Fixtures.sha256(s));
            }
        }
        assertThat(got.keySet()).filteredOn(k -> k.startsWith("optimizer.state.")).hasSize(27);
        assertThat(got).isEqualTo(want);
    }

    /** The generator's fp32 main parameters round to its bf16 weights (what ckpt checks before it maps buckets). */
    @ParameterizedTest
    @CsvSource({"bf16", "fp32"})
    void mainParametersRoundToTheWeights(String weights, @TempDir Path tmp) {
        MegatronLayout l = new MegatronLayout(ModelShape.named("tiny"), 1, 1, 1, MegatronLayout.Optimizer.FULLY_RESHARDABLE, 0, 1,
                weights.equals("fp32"));
        Values v = new Values(5);
        try (Arena arena = Arena.ofConfined()) {
            for (MegatronLayout.Chunk c : l.chunks()) {
                String key = c.tensor().key();
                if (!key.startsWith("optimizer.state.param.")) continue;
                MegatronLayout.Chunk weight = l.chunks().stream()
                        .filter(w -> w.tensor().key().equals(key.substring("optimizer.state.param.".length())) && w.box().equals(c.box()))
                        .findFirst().orElseThrow();
                long n = c.box().numel();
                MemorySegment p = arena.allocate(n * 4), w = arena.allocate(n * weight.tensor().dtype().byteSize());
                l.fill(v, c, p);
                l.fill(v, weight, w);
                int lowBitsSet = 0;
                for (long i = 0; i < n; i++) {
                    int bits = p.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, i);
                    if (weights.equals("fp32")) {
                        assertThat(bits).isEqualTo(w.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, i));
                    } else {
                        assertThat(Values.toBf16(Float.intBitsToFloat(bits)))
                                .as("%s element %d", key, i).isEqualTo(w.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, i));
                        if ((bits & 0xFFFF) != 0) lowBitsSet++;
                    }
                }
                if (weights.equals("bf16")) assertThat(lowBitsSet).as(key).isGreaterThan((int) (n / 2)); // not just widened
            }
        }
    }
}
