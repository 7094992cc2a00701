package ckpt.cli;

import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import static ckpt.cli.RotationCommandsTest.ckpt;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code ckpt inspect} and {@code ckpt verify} end to end: output, JSON and exit codes. */
class InspectVerifyCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String EIGHT_B = Fixtures.path("megatron-llama3-8b-meta/checkpoint").toString();
    private static final String TP2 = Fixtures.path("megatron-llama-tp2/checkpoint").toString();

    @TempDir
    Path tmp;

    @Test
    void inspectEightBillionExplainsTheSize() {
        var r = ckpt("inspect", EIGHT_B);
        assertThat(r.code()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).contains("Megatron torch_dist").contains("iteration:  1").contains("status:     metadata-only: none of the 2 data files is on disk")
                .contains("model (inferred from shapes)").contains("layers 32, hidden 4096, ffn 14336")
                .contains("112,425,298,583").contains("104.70").contains("112.43").contains("105G")
                .contains("14 B per parameter").contains("misses the fp32 master copy");
        // Readable at any depth: each of the 6 stacked per-layer weights the README lists (qkv, qkv layer norm, proj,
        // fc1, fc1 layer norm, fc2) is one line with its layer count.
        List<String> stacked = r.out().lines().filter(l -> l.contains("32 stacked")).toList();
        assertThat(stacked).hasSize(6).allMatch(l -> l.trim().startsWith("decoder.layers."));
    }

    @Test
    void inspectJsonIsOneObjectWithTheSchema() throws Exception {
        var r = ckpt("inspect", "--json", EIGHT_B);
        assertThat(r.code()).isZero();
        JsonNode j = JSON.readTree(r.out());
        assertThat(j.get("schema").asText()).isEqualTo("ckpt.inspect/1");
        assertThat(j.get("format").asText()).isEqualTo("megatron_torch_dist");
        assertThat(j.get("size").get("total_bytes").asLong()).isEqualTo(112_425_298_583L);
        assertThat(j.get("size").get("parameters").asLong()).isEqualTo(8_030_261_248L);
        assertThat(j.get("tensors").get(0).fieldNames()).toIterable()
                .contains("key", "dtype", "shape", "chunks", "bytes", "category");
    }

    @Test
    void inspectTensorsListsEveryTensorOnce() {
        JsonNode ref = Fixtures.json(Fixtures.path("megatron-llama-tp2/reference/iter_0000004/tensors.json"));
        var r = ckpt("inspect", "--tensors", TP2);
        assertThat(r.code()).isZero();
        List<String> keys = new ArrayList<>();
        ref.fieldNames().forEachRemaining(keys::add);
        for (String k : keys) {
            long lines = r.out().lines().filter(l -> l.startsWith("  " + k + " ")).count();
            assertThat(lines).as(k).isEqualTo(1);
        }
        assertThat(r.out()).contains("objects (");
    }

    @Test
    void inspectFilterSelectsKeys() {
        var r = ckpt("inspect", "--filter", "decoder.layers.mlp.*", TP2);
        assertThat(r.code()).isZero();
        List<String> listed = r.out().lines().filter(l -> l.startsWith("  decoder.") || l.startsWith("  embedding.")
                || l.startsWith("  optimizer.") || l.startsWith("  output_layer.")).toList();
        assertThat(listed).isNotEmpty().allMatch(l -> l.startsWith("  decoder.layers.mlp."));
    }

    @Test
    void inspectOfSomethingElseIsOneLineAndExitOne() throws Exception {
        Files.writeString(tmp.resolve("notes.txt"), "hello");
        var r = ckpt("inspect", tmp.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().lines()).singleElement().asString().startsWith("ckpt: " + tmp).contains("not a checkpoint");
        assertThat(ckpt("inspect", "--bogus", TP2).code()).isEqualTo(2);
        assertThat(ckpt("inspect").code()).isEqualTo(2);
    }

    @Test
    void verifySoundFixture() {
        var r = ckpt("verify", TP2);
        assertThat(r.code()).isZero();
        assertThat(r.out().lines().toList().getLast()).isEqualTo("sound");
        var d = ckpt("verify", "--deep", TP2);
        assertThat(d.code()).isZero();
        assertThat(d.out()).contains("zip entries CRC-checked");
    }

    @Test
    void verifyDamagedCopyListsTheProblemAndExitsOne() throws Exception {
        Path sd = Fixtures.copyTree(Fixtures.path("megatron-llama-tp2/checkpoint"), tmp.resolve("save"));
        Files.delete(sd.resolve("iter_0000004/.metadata"));
        var r = ckpt("verify", sd.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).contains("1 problem:").contains(sd.resolve("iter_0000004/.metadata")
                + ": incomplete save: .metadata missing — the job was probably interrupted while saving");

        var j = ckpt("verify", "--json", sd.toString());
        assertThat(j.code()).isEqualTo(1);
        JsonNode n = JSON.readTree(j.out());
        assertThat(n.get("schema").asText()).isEqualTo("ckpt.verify/1");
        assertThat(n.get("sound").asBoolean()).isFalse();
        assertThat(n.get("problems")).hasSize(1);
        assertThat(n.get("problems").get(0).get("file").asText()).isEqualTo(sd.resolve("iter_0000004/.metadata").toString());
        assertThat(n.get("problems").get(0).has("key")).isTrue();
        assertThat(n.get("problems").get(0).get("what").asText()).startsWith("incomplete save");
    }

    @Test
    void verifyUsageErrorsExitTwo() {
        assertThat(ckpt("verify").code()).isEqualTo(2);
        assertThat(ckpt("verify", "--fast-ish", TP2).code()).isEqualTo(2);
    }

    @Test
    void listUsesTheDeeperCompletenessCheck() throws Exception {
        Path sd = Fixtures.copyTree(Fixtures.path("megatron-llama-tp2/checkpoint"), tmp.resolve("save"));
        Path shard = sd.resolve("iter_0000002/__0_0.distcp");
        try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.WRITE)) {
            ch.truncate(Files.size(shard) - 1);
        }
        var r = ckpt("list", "--json", sd.toString());
        assertThat(r.code()).isZero();
        JsonNode entries = JSON.readTree(r.out()).get("checkpoints");
        JsonNode two = null;
        for (JsonNode e : entries) if (e.get("name").asText().equals("iter_0000002")) two = e;
        assertThat(two).isNotNull();
        assertThat(two.get("status").asText()).isEqualTo("incomplete");
        assertThat(two.get("problems").get(0).asText()).startsWith("__0_0.distcp: truncated");
    }
}
