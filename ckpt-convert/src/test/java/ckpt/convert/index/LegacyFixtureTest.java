package ckpt.convert.index;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.format.FormatException;
import ckpt.format.megatron.KeyCategory;
import ckpt.format.testing.Fixtures;
import ckpt.format.tensor.Box;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The legacy TP=2 fixture merged into global tensors equals, bit for bit, the torch_dist save of the same run
 * (megatron-llama-tp2/reference/iter_0000004/tensors.json, written by PyTorch's dcp_to_torch_save).
 */
class LegacyFixtureTest {
    private static final String LEGACY = "megatron-llama-tp2-legacy-torch/checkpoint";
    private static final String TWIN = "megatron-llama-tp2/reference/iter_0000004/tensors.json";

    @Test
    void modelTensorsEqualTheTorchDistTwin() {
        JsonNode ref = Fixtures.json(Fixtures.path(TWIN));
        try (CheckpointIndex index = Checkpoints.open(Fixtures.path(LEGACY)); Arena arena = Arena.ofConfined()) {
            assertThat(index.format()).isEqualTo(CheckpointFormat.MEGATRON_LEGACY_TORCH);
            assertThat(index.iteration()).isEqualTo(4L);
            assertThat(index.era()).isEqualTo("Megatron legacy torch (checkpoint_version 3.0)");
            Map<String, GlobalTensor> byKey = index.tensorsByKey();
            List<String> refModelKeys = new ArrayList<>();
            ref.fieldNames().forEachRemaining(k -> {
                if (!k.startsWith("optimizer.")) refModelKeys.add(k);
            });
            List<String> modelKeys = index.tensors().stream().filter(t -> t.category() == KeyCategory.MODEL_WEIGHT)
                    .map(GlobalTensor::key).toList();
            assertThat(new TreeSet<>(modelKeys)).isEqualTo(new TreeSet<>(refModelKeys));
            for (String key : refModelKeys) ReferenceCheck.assertTensorMatches(arena, byKey.get(key), ref.get(key));
        }
    }

    @Test
    void distributedOptimizerBuffersEqualTheTorchDistBuckets() {
        // compare_with_megatron-llama-tp2.json: mp_rank_0r/distrib_optim.pt buffers equal dp_group_idx_r's buckets.
        JsonNode ref = Fixtures.json(Fixtures.path(TWIN));
        try (CheckpointIndex index = Checkpoints.open(Fixtures.path(LEGACY, "iter_0000004")); Arena arena = Arena.ofConfined()) {
            for (int r = 0; r < 2; r++) {
                for (String state : List.of("param", "exp_avg", "exp_avg_sq")) {
                    String ours = "optimizer.distributed.mp_rank_0" + r + ".gbuf_idx_0.dtype_(torch.bfloat16, torch.float32)." + state;
                    String theirs = "optimizer.distributed.dp_group_idx_" + r + ".gbuf_idx_0.dtype_(torch.bfloat16, torch.float32).bucket_idx_0." + state;
                    GlobalTensor t = index.tensor(ours).orElseThrow(() -> new AssertionError("no " + ours));
                    assertThat(t.category()).isEqualTo(switch (state) {
                        case "param" -> KeyCategory.OPTIMIZER_MASTER;
                        case "exp_avg" -> KeyCategory.OPTIMIZER_EXP_AVG;
                        default -> KeyCategory.OPTIMIZER_EXP_AVG_SQ;
                    });
                    ReferenceCheck.assertTensorMatches(arena, t, ref.get(theirs));
                }
            }
        }
    }

    @Test
    void filesLayoutAndReplicasAreReported() {
        JsonNode files = Fixtures.json(Fixtures.path("megatron-llama-tp2-legacy-torch/reference/iter_0000004/files.json"));
        try (CheckpointIndex index = Checkpoints.open(Fixtures.path(LEGACY))) {
            assertThat(index.parallelism().tensorParallel()).isEqualTo(2);
            assertThat(index.parallelism().pipelineParallel()).isEqualTo(1);
            assertThat(index.parallelism().distributedOptimizer()).isTrue();
            assertThat(index.config().numLayers()).isEqualTo(4);
            assertThat(index.config().gatedLinearUnit()).isTrue();
            assertThat(index.files()).extracting(FileEntry::name).containsExactlyInAnyOrder(
                    "mp_rank_00/distrib_optim.pt", "mp_rank_00/model_optim_rng.pt",
                    "mp_rank_01/distrib_optim.pt", "mp_rank_01/model_optim_rng.pt");
            assertThat(index.dataPresent()).isTrue();
            // Replicated tensors: every norm of rank 1 (4 layers × 2 norms + final norm) is a replica.
            List<LegacyReplica> replicas = LegacyIndexer.replicas(index);
            assertThat(replicas).hasSize(9).allSatisfy(r -> assertThat(r.rank()).isEqualTo("mp_rank_01"));
            // Each replica holds the same values as the piece it duplicates (the run keeps norms in sync).
            try (Arena arena = Arena.ofConfined()) {
                for (LegacyReplica r : replicas) {
                    GlobalTensor t = index.tensor(r.key()).orElseThrow();
                    Box box = r.piece().box();
                    MemorySegment a = arena.allocate(box.numel() * t.dtype().byteSize());
                    TensorAssembler.assemble(t, box, a);
                    GlobalTensor alone = new GlobalTensor(t.key(), t.dtype(), t.shape(), t.category(), List.of(r.piece()));
                    MemorySegment b = arena.allocate(box.numel() * t.dtype().byteSize());
                    TensorAssembler.assemble(alone, box, b);
                    assertThat(a.mismatch(b)).as(r.toString()).isEqualTo(-1);
                }
            }
            // _extra_state entries of the local spec are None: objects of their own category, one per rank and module.
            long extra = index.objects().stream().filter(o -> o.category() == KeyCategory.EXTRA_STATE).count();
            long extraInReference = 0;
            for (String f : List.of("mp_rank_00/model_optim_rng.pt", "mp_rank_01/model_optim_rng.pt")) {
                var it = files.get(f).get("objects").fieldNames();
                while (it.hasNext()) if (it.next().endsWith("._extra_state")) extraInReference++;
            }
            assertThat(extra).isEqualTo(extraInReference).isPositive();
        }
    }

    @Test
    void missingRankDirectoryIsNamed(@TempDir Path tmp) throws IOException {
        Path iter = copyIteration(tmp);
        Fixtures.deleteTree(iter.resolve("mp_rank_01"));
        assertThatThrownBy(() -> Checkpoints.open(iter)).isInstanceOf(FormatException.class)
                .hasMessageContaining("mp_rank_01").hasMessageContaining("missing").hasMessageContaining("TP=2");
    }

    @Test
    void missingDistribOptimOnOneRankIsNamed(@TempDir Path tmp) throws IOException {
        Path iter = copyIteration(tmp);
        Files.delete(iter.resolve("mp_rank_01/distrib_optim.pt"));
        assertThatThrownBy(() -> Checkpoints.open(iter)).isInstanceOf(FormatException.class)
                .hasMessageContaining("mp_rank_01").hasMessageContaining("distrib_optim.pt");
    }

    @Test
    void unexpectedRankDirectoryIsNamed(@TempDir Path tmp) throws IOException {
        Path iter = copyIteration(tmp);
        Fixtures.copyTree(iter.resolve("mp_rank_01"), iter.resolve("mp_rank_02"));
        assertThatThrownBy(() -> Checkpoints.open(iter)).isInstanceOf(FormatException.class)
                .hasMessageContaining("unexpected rank directory mp_rank_02");
    }

    @Test
    void aRankFileThatIsNotAZipArchiveIsNamed(@TempDir Path tmp) throws IOException {
        // A bare pickle (what pre-1.6 torch.save streams start with): refused with the file named, not misread.
        Path iter = copyIteration(tmp);
        Files.write(iter.resolve("mp_rank_01/model_optim_rng.pt"), new byte[]{(byte) 0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e});
        assertThatThrownBy(() -> Checkpoints.open(iter)).isInstanceOf(FormatException.class)
                .hasMessageContaining("mp_rank_01").hasMessageContaining("not a zip torch.save archive");
    }

    static Path copyIteration(Path tmp) throws IOException {
        return Fixtures.copyTree(Fixtures.path(LEGACY, "iter_0000004"), tmp.resolve("iter_0000004"));
    }
}
