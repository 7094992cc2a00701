package ckpt.bench;

import ckpt.convert.analysis.SizeAnalyzer;
import ckpt.convert.analysis.SizeReport;
import ckpt.convert.analysis.VerifyProgress;
import ckpt.convert.analysis.VerifyReport;
import ckpt.convert.analysis.Verifier;
import ckpt.convert.assembly.TensorAssembler;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.index.DeepSpeedIndexer;
import ckpt.convert.index.GlobalTensor;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The synthetic ZeRO-3 generator, small: ckpt reads back every parameter's fp32 master and Adam moments with the
 * sha256 of the value streams (computed without the layout), and verify names the rank of a short partition.
 * (DeepSpeed's own zero_to_fp32.py checks the generator on the GPU box: scripts/check_deepspeed_synthetic.py.)
 */
class SyntheticZero3Test {
    @TempDir
    Path tmp;

    @Test
    void ckptRebuildsEveryParameter() throws Exception {
        Path out = tmp.resolve("z3");
        // World size 3 does not divide the hidden size (64): every small parameter is padded on the last rank.
        SyntheticZero3.Options o = SyntheticZero3.parse(new String[]{"--out", out.toString(), "--layers", "2", "--world-size", "3"});
        SyntheticZero3.write(o);
        JsonNode ref = Fixtures.json(out.resolve(SyntheticZero3.REFERENCE));
        Values values = new Values(o.seed());
        try (CheckpointIndex index = Checkpoints.open(out); Arena arena = Arena.ofConfined()) {
            assertThat(index.era()).startsWith("DeepSpeed ZeRO stage 3, bf16, world size 3");
            assertThat(DeepSpeedIndexer.stateDictKeys(index)).containsExactlyElementsOf(Fixtures.fieldNames(ref));
            for (SyntheticZero3.Param p : SyntheticZero3.params(o.shape())) {
                check(arena, index.tensor(p.name()).orElseThrow(), ref.get(p.name()).get("sha256").asText());
                check(arena, index.tensor(DeepSpeedIndexer.EXP_AVG_PREFIX + p.name()).orElseThrow(),
                        values.sha256(p.name(), Values.Kind.EXP_AVG, p.shape()));
                check(arena, index.tensor(DeepSpeedIndexer.EXP_AVG_SQ_PREFIX + p.name()).orElseThrow(),
                        values.sha256(p.name(), Values.Kind.EXP_AVG_SQ, p.shape()));
            }
            long padding = (Long) index.details().get("padding_elements_per_state");
            assertThat(padding).isPositive();
            // Every byte of every file in one class; the padding of fp32 master, exp_avg and exp_avg_sq in its own.
            SizeReport sizes = SizeAnalyzer.analyze(index);
            long onDisk;
            try (var s = Files.walk(out.resolve("global_step4"))) {
                onDisk = s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
            }
            assertThat(sizes.byCategory().values().stream().mapToLong(Long::longValue).sum()).isEqualTo(onDisk);
            assertThat(sizes.byCategory().get(SizeReport.PADDING)).isEqualTo(3 * 4 * padding);
            assertThat(sizes.byCategory()).doesNotContainKey(SizeReport.TRUNCATED);
        }
        VerifyReport r = new Verifier(true, VerifyProgress.NONE).verify(out);
        assertThat(r.problems()).isEmpty();
    }

    private static void check(Arena arena, GlobalTensor t, String sha) {
        MemorySegment seg = arena.allocate(t.byteSize());
        TensorAssembler.assemble(t, seg);
        assertThat(Fixtures.sha256(seg)).as(t.key()).isEqualTo(sha);
    }

    @Test
    void shortPartitionIsNamedWithItsRank() throws Exception {
        Path out = tmp.resolve("z3");
        SyntheticZero3.Options o = SyntheticZero3.parse(new String[]{"--out", out.toString(), "--world-size", "2"});
        SyntheticZero3.write(o);
        List<SyntheticZero3.Param> params = SyntheticZero3.params(o.shape());
        long flat = params.stream().mapToLong(p -> Math.ceilDiv(p.numel(), 2)).sum();
        Path rank1 = out.resolve("global_step4/bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt");
        Files.delete(rank1);
        SyntheticZero3.optimStates(rank1, params, o, 1, flat - 32, new Values(o.seed()));
        VerifyReport r = new Verifier(false, VerifyProgress.NONE).verify(out);
        assertThat(r.sound()).isFalse();
        assertThat(r.problems()).singleElement().satisfies(p -> {
            assertThat(p.file()).endsWith("bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt");
            assertThat(p.toString()).contains("partition too short").contains("rank 1");
        });
    }
}
