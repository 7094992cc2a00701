package ckpt.bench;

import ckpt.convert.assembly.Coverage;
import ckpt.convert.assembly.TensorAssembler;
import ckpt.convert.index.CheckpointFormat;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.index.GlobalTensor;
import ckpt.format.dcp.ChunkStorageMetadata;
import ckpt.format.dcp.DcpMetadata;
import ckpt.format.dcp.DcpMetadataReader;
import ckpt.format.dcp.TensorStorageMetadata;
import ckpt.format.tensor.Box;
import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

class SyntheticCheckpointTest {
    private static Path generate(Path out, String... args) throws IOException {
        List<String> a = new ArrayList<>(List.of(args));
        a.addAll(List.of("--out", out.toString()));
        return SyntheticCheckpoint.write(SyntheticCheckpoint.parse(a.toArray(String[]::new)), new PrintStream(new ByteArrayOutputStream()));
    }

    /** Our reader assembles every global tensor to the sha256 the generator computed from its value function alone. */
    @ParameterizedTest
    @CsvSource({"dp_reshardable, 2, 1, 2", "fully_reshardable, 2, 2, 2", "dp_reshardable, 1, 2, 3", "none, 2, 1, 1"})
    void readerReassemblesWhatTheGeneratorWrote(String optimizer, int tp, int pp, int dp, @TempDir Path tmp) throws IOException {
        generate(tmp, "--shape", "tiny", "--tp", "" + tp, "--pp", "" + pp, "--dp", "" + dp, "--optimizer", optimizer,
                "--iteration", "7");
        JsonNode sha = Fixtures.json(tmp.resolve("tensors-sha256.json"));
        try (CheckpointIndex index = Checkpoints.open(tmp); Arena arena = Arena.ofConfined()) {
            assertThat(index.format()).isEqualTo(CheckpointFormat.MEGATRON_TORCH_DIST);
            assertThat(index.iteration()).isEqualTo(7L);
            assertThat(index.config().numLayers()).isEqualTo(4);
            assertThat(index.config().numQueryGroups()).isEqualTo(2);
            assertThat(index.parallelism().tensorParallel()).isEqualTo(tp);
            assertThat(index.parallelism().dataParallel()).isEqualTo(dp);
            assertThat(index.parallelism().optimizerFormat()).isEqualTo(optimizer.equals("none") ? null : optimizer);
            List<String> keys = new ArrayList<>();
            sha.fieldNames().forEachRemaining(keys::add);
            assertThat(new TreeSet<>(index.tensorsByKey().keySet())).isEqualTo(new TreeSet<>(keys));
            for (GlobalTensor t : index.tensors()) {
                assertThat(Coverage.problem(t)).as(t.key()).isEmpty();
                MemorySegment dst = arena.allocate(Math.max(1, t.byteSize())).asSlice(0, t.byteSize());
                TensorAssembler.assemble(t, dst);
                assertThat(Fixtures.sha256(dst)).as(t.key()).isEqualTo(sha.get(t.key()).get("sha256").asText());
            }
        }
    }

    /** At the fixture's own layout the generator reproduces the real save's keys, shapes and chunk boxes. */
    @Test
    void sameLayoutAsTheRealTp2Fixture(@TempDir Path tmp) throws IOException {
        Path iter = generate(tmp, "--shape", "tiny", "--tp", "2", "--optimizer", "dp_reshardable", "--iteration", "4");
        DcpMetadata ours = DcpMetadataReader.read(iter);
        DcpMetadata real = DcpMetadataReader.read(Fixtures.path("megatron-llama-tp2/checkpoint/iter_0000004"));
        assertThat(new TreeSet<>(ours.bytesItems())).isEqualTo(new TreeSet<>(real.bytesItems()));
        assertThat(ours.tensors().keySet()).containsExactlyInAnyOrderElementsOf(real.tensors().keySet());
        for (TensorStorageMetadata r : real.tensors().values()) {
            TensorStorageMetadata o = ours.tensors().get(r.fqn());
            assertThat(o.dtype()).as(r.fqn()).isEqualTo(r.dtype());
            assertThat(o.size()).as(r.fqn()).isEqualTo(r.size());
            assertThat(boxes(o)).as(r.fqn()).isEqualTo(boxes(r));
        }
        // the real files: tensor chunks of TP rank r in __r_0.distcp
        for (Map.Entry<ckpt.format.dcp.MetadataIndex, ckpt.format.dcp.StorageInfo> e : real.storage().entrySet()) {
            if (e.getKey().offset() == null || !e.getKey().fqn().startsWith("optimizer")) continue;
            assertThat(ours.storage().get(e.getKey()).relativePath()).as(e.getKey().toString()).isEqualTo(e.getValue().relativePath());
        }
        assertThat(Files.readString(tmp.resolve("latest_checkpointed_iteration.txt"))).isEqualTo("4");
        assertThat(Fixtures.json(iter.resolve("metadata.json")).get("sharded_backend").asText()).isEqualTo("torch_dist");
    }

    private static Set<Box> boxes(TensorStorageMetadata t) {
        Set<Box> s = new HashSet<>();
        for (ChunkStorageMetadata c : t.chunks()) s.add(c.box());
        return s;
    }

    @Test
    void metadataOnlyHasNoDataFiles(@TempDir Path tmp) throws IOException {
        Path iter = generate(tmp, "--shape", "llama3-70b", "--layers", "2", "--tp", "8", "--dp", "4", "--metadata-only");
        try (CheckpointIndex index = Checkpoints.open(tmp)) {
            assertThat(index.dataPresent()).isFalse();
            assertThat(index.tensorsByKey().get("decoder.layers.mlp.linear_fc1.weight").shape()).containsExactly(2, 2 * 28672, 8192);
        }
        assertThat(Files.list(iter).map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(".metadata", "metadata.json");
    }

    @Test
    void byteBudgetPicksTheLayerCount() {
        ModelShape s = ModelShape.named("llama3-8b");
        int n = SyntheticCheckpoint.layersFor(s, SyntheticCheckpoint.parseSize("8GB"), 1, MegatronLayout.Optimizer.NONE);
        long bytes = 2 * s.withLayers(n).params();
        assertThat(bytes).isGreaterThanOrEqualTo(8_000_000_000L);
        assertThat(2 * s.withLayers(n - 1).params()).isLessThan(8_000_000_000L);
        // the real Llama-3-8B: 8,030,261,248 parameters (megatron-llama3-8b-meta README)
        assertThat(s.params()).isEqualTo(8_030_261_248L);
        assertThat(SyntheticCheckpoint.parseSize("2GiB")).isEqualTo(1L << 31);
    }
}
