package ckpt.cli;

import ckpt.convert.analysis.FileAnomalies;
import ckpt.convert.analysis.FileGroups;
import ckpt.convert.analysis.NaturalOrder;
import static ckpt.cli.RotationCommandsTest.ckpt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import ckpt.convert.analysis.InspectReport;
import ckpt.convert.analysis.InspectReport.FileInfo;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.format.testing.Fixtures;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The human form of {@code ckpt inspect}: first screen, file groups, anomalies, filters. */
class InspectOutputTest {
    private static final String EIGHT_B = Fixtures.path("megatron-llama3-8b-meta/checkpoint").toString();
    private static final Path TP2 = Fixtures.path("megatron-llama-tp2/checkpoint");

    @TempDir
    Path tmp;

    @Test
    void firstScreenAnswersWhatAndWhyThisBig() {
        List<String> lines = ckpt("inspect", EIGHT_B).out().lines().toList();
        List<String> top = lines.subList(0, 7);
        assertThat(top.get(1)).startsWith("  format:     Megatron torch_dist");
        assertThat(top.get(2)).isEqualTo("  iteration:  1");
        assertThat(top.get(4)).startsWith("  model:      Llama-like (a guess): 32 layers, hidden 4096, ffn 14336");
        // 8,030,261,248 parameters × (2 + 4 + 4 + 4) B and the actual total 112,425,298,583 bytes
        assertThat(top.get(6)).isEqualTo("  size:       112.43 GB (104.70 GiB) = 8.03 B params × 14 B "
                + "(bf16 2 + fp32 master 4 + Adam 4 + 4) + 0.0015% overhead");
    }

    @Test
    void partlyMissingDataIsDamagedNotMetadataOnly() throws IOException {
        Path copy = copyOfTp2();
        Path iter = copy.resolve("iter_0000004");
        Files.delete(iter.resolve("__1_0.distcp"));
        String out = ckpt("inspect", copy.toString()).out();
        assertThat(out).contains("status:     damaged: 1 of 2 data files missing").doesNotContain("metadata-only");
        assertThat(out).contains("problems (1):").contains("missing  __1_0.distcp: the metadata places");
        assertThat(out).contains("__1_0.distcp").contains("MISSING (size implied by the metadata)");
    }

    @Test
    void shortAndUnexpectedFilesAreListedAtTheTop() throws IOException {
        Path copy = copyOfTp2();
        Path iter = copy.resolve("iter_0000004");
        try (FileChannel ch = FileChannel.open(iter.resolve("__0_0.distcp"), StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() / 2);
        }
        Files.write(iter.resolve("__7_0.distcp"), new byte[10]);
        List<String> lines = ckpt("inspect", copy.toString()).out().lines().toList();
        assertThat(lines.get(3)).isEqualTo("  status:     damaged: 1 of 2 data files short; 1 unexpected data file (run ckpt verify)");
        assertThat(lines).anyMatch(l -> l.startsWith("  short  __0_0.distcp: "))
                .anyMatch(l -> l.equals("  unexpected  __7_0.distcp: 10 B, not referenced by the metadata"));
    }

    @Test
    void allDataAbsentIsMetadataOnly() throws IOException {
        Path copy = copyOfTp2();
        Path iter = copy.resolve("iter_0000004");
        Files.delete(iter.resolve("__0_0.distcp"));
        Files.delete(iter.resolve("__1_0.distcp"));
        String out = ckpt("inspect", copy.toString()).out();
        assertThat(out).contains("status:     metadata-only: none of the 2 data files is on disk").doesNotContain("damaged")
                .doesNotContain("problems (");
    }

    @Test
    void metadataOnlyListsNoAbsenceButAllHasEach() throws IOException {
        Path copy = copyOfTp2();
        Path iter = copy.resolve("iter_0000004");
        Files.delete(iter.resolve("__0_0.distcp"));
        Files.delete(iter.resolve("__1_0.distcp"));
        Files.write(iter.resolve("__10_0.distcp"), new byte[10]);
        try (CheckpointIndex index = Checkpoints.open(copy)) {
            FileAnomalies a = FileAnomalies.of(InspectReport.of(index));
            assertThat(a.metadataOnly()).isTrue();
            assertThat(a.missing()).isEqualTo(2);
            assertThat(a.count(FileAnomalies.Kind.MISSING)).isEqualTo(2);
            assertThat(a.listed()).extracting(FileAnomalies.Anomaly::kind, FileAnomalies.Anomaly::file)
                    .containsExactly(tuple(FileAnomalies.Kind.UNEXPECTED, "__10_0.distcp"));
            // in numeric file order, each absence with the size its records imply
            assertThat(a.all()).extracting(FileAnomalies.Anomaly::kind, FileAnomalies.Anomaly::file).containsExactly(
                    tuple(FileAnomalies.Kind.MISSING, "__0_0.distcp"), tuple(FileAnomalies.Kind.MISSING, "__1_0.distcp"),
                    tuple(FileAnomalies.Kind.UNEXPECTED, "__10_0.distcp"));
            assertThat(a.all().get(0).detail()).matches("the metadata places .* of records in it");
        }
    }

    @Test
    void completeCheckpointSaysSo() {
        assertThat(ckpt("inspect", TP2.toString()).out()).contains("status:     complete: all 2 data files present");
    }

    @Test
    void filesGroupByNumberedNameAndSortNumerically() {
        List<FileInfo> files = new ArrayList<>();
        for (int r : new int[]{10, 2, 0, 1, 100, 11, 3}) files.add(new FileInfo("__" + r + "_0.distcp", 300_000_000L + r, false, true));
        files.add(new FileInfo(".metadata", 208_020_420, true, false));
        files.add(new FileInfo("metadata.json", 63, true, false));
        List<FileGroups.Group> groups = FileGroups.of(files);
        assertThat(groups).extracting(FileGroups.Group::pattern).containsExactly(".metadata", "__R_0.distcp", "metadata.json");
        FileGroups.Group ranks = groups.get(1);
        assertThat(ranks.noun()).isEqualTo("rank files");
        assertThat(ranks.files()).extracting(FileInfo::name).containsExactly("__0_0.distcp", "__1_0.distcp", "__2_0.distcp",
                "__3_0.distcp", "__10_0.distcp", "__11_0.distcp", "__100_0.distcp");
        assertThat(ranks.min()).isEqualTo(300_000_000L);
        assertThat(ranks.max()).isEqualTo(300_000_100L);
        assertThat(ranks.absent()).isEqualTo(7);
        // fewer than FileGroups.MIN_GROUP like names stay individual
        assertThat(FileGroups.of(files.subList(0, 3))).extracting(FileGroups.Group::pattern)
                .containsExactly("__0_0.distcp", "__2_0.distcp", "__10_0.distcp");
    }

    @Test
    void numericOrder() {
        List<String> names = new ArrayList<>(List.of("__10000_0.distcp", "__0_0.distcp", "__9_0.distcp", "__10_0.distcp",
                "model-00002-of-00010.safetensors", "model-00010-of-00010.safetensors", "model-1-of-00010.safetensors"));
        names.sort(NaturalOrder.INSTANCE);
        assertThat(names).containsExactly("__0_0.distcp", "__9_0.distcp", "__10_0.distcp", "__10000_0.distcp",
                "model-1-of-00010.safetensors", "model-00002-of-00010.safetensors", "model-00010-of-00010.safetensors");
    }

    @Test
    void groupPatternKeepsNumbersAllMembersShare() {
        List<FileInfo> files = new ArrayList<>();
        for (int i = 1; i <= 6; i++) files.add(new FileInfo(String.format("model-%05d-of-00006.safetensors", i), 5_000_000_000L, true, true));
        FileGroups.Group g = FileGroups.of(files).getFirst();
        assertThat(g.pattern()).isEqualTo("model-N-of-00006.safetensors");
        assertThat(g.noun()).isEqualTo("files");
    }

    @Test
    void filterMatchesSubstringsAndGlobsAndSaysWhenNothingMatched() {
        String sub = ckpt("inspect", "--filter", "linear_fc1", TP2.toString()).out();
        assertThat(sub).contains("decoder.layers.mlp.linear_fc1.weight").doesNotContain("linear_fc2.weight");
        String glob = ckpt("inspect", "--filter", "*.linear_fc?.weight", TP2.toString()).out();
        assertThat(glob).contains("decoder.layers.mlp.linear_fc1.weight").contains("decoder.layers.mlp.linear_fc2.weight")
                .doesNotContain("linear_qkv.weight ");
        String none = ckpt("inspect", "--filter", "no_such_key", TP2.toString()).out();
        assertThat(none).contains("no tensor or object key matches --filter 'no_such_key'");
    }

    @Test
    void filesOptionListsEveryFileInNumericOrder() {
        List<String> lines = ckpt("inspect", "--files", TP2.toString()).out().lines().toList();
        int a = indexOfLineStarting(lines, "  __0_0.distcp"), b = indexOfLineStarting(lines, "  __1_0.distcp");
        assertThat(a).isPositive();
        assertThat(b).isEqualTo(a + 1);
    }

    /** config.json as transformers 5.17 writes it for a small Llama (the deepspeed-zero3-llama fixture's, plus architectures/dtype). */
    private static final String LLAMA_CONFIG = """
            {"architectures": ["LlamaForCausalLM"], "attention_bias": false, "bos_token_id": 1, "dtype": "bfloat16",
             "eos_token_id": 2, "head_dim": 8, "hidden_act": "silu", "hidden_size": 64, "intermediate_size": 192,
             "max_position_embeddings": 128, "model_type": "llama", "num_attention_heads": 8, "num_hidden_layers": 4,
             "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
             "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"},
             "tie_word_embeddings": false, "transformers_version": "5.17.0", "vocab_size": 256}
            """;

    @Test
    void huggingFaceDirShowsItsConfig() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("hf"));
        Path src = Fixtures.path("dcp-variety-hf/checkpoint");
        try (Stream<Path> s = Files.list(src)) {
            for (Path p : s.toList()) Files.copy(p, dir.resolve(p.getFileName().toString()));
        }
        Files.writeString(dir.resolve("config.json"), LLAMA_CONFIG);
        List<String> lines = ckpt("inspect", dir.toString()).out().lines().toList();
        assertThat(lines).contains("  model:      LlamaForCausalLM (llama) (config.json): 4 layers, hidden 64, ffn 192, heads 8 / 2 kv heads, vocab 256, bf16");
        assertThat(lines).contains("config.json (LlamaForCausalLM (llama)):",
                "  layers 4, hidden 64, ffn 192, heads 8 / kv heads 2 / head dim 8",
                "  vocab 256, dtype bfloat16, rope theta 10000, max positions 128, embeddings untied");
    }

    @Test
    void gpt2ConfigNamesAndOlderTorchDtypeAreRead() throws IOException {
        Path cfg = tmp.resolve("config.json");
        Files.writeString(cfg, """
                {"model_type": "gpt2", "n_embd": 64, "n_head": 8, "n_inner": null, "n_layer": 4, "n_positions": 128,
                 "tie_word_embeddings": true, "torch_dtype": "float16", "vocab_size": 256}
                """);
        var c = ckpt.convert.analysis.HfConfig.read(cfg).orElseThrow();
        assertThat(c.numLayers()).isEqualTo(4L);
        assertThat(c.hiddenSize()).isEqualTo(64L);
        assertThat(c.numAttentionHeads()).isEqualTo(8L);
        assertThat(c.intermediateSize()).isNull();
        assertThat(c.dtype()).isEqualTo("float16");
        assertThat(c.tieWordEmbeddings()).isTrue();
        assertThat(c.maxPositionEmbeddings()).isEqualTo(128L);
        Files.writeString(cfg, "[1, 2]");
        assertThat(ckpt.convert.analysis.HfConfig.read(cfg)).isEmpty();
    }

    @Test
    void summaryJsonHasTheAnswersWithoutPerTensorArrays() throws Exception {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        var full = json.readTree(ckpt("inspect", "--json", EIGHT_B).out());
        String text = ckpt("inspect", "--json", "--summary", EIGHT_B).out();
        var s = json.readTree(text);
        assertThat(s.get("schema").asText()).isEqualTo("ckpt.inspect-summary/1");
        assertThat(s.has("tensors")).isFalse();
        assertThat(s.has("files")).isFalse();
        assertThat(s.get("size").has("files")).isFalse();
        assertThat(s.get("counts").get("tensors").asLong()).isEqualTo(full.get("tensors").size());
        assertThat(s.get("counts").get("files").asLong()).isEqualTo(full.get("files").size());
        long chunks = 0;
        for (var t : full.get("tensors")) chunks += t.get("chunks").asLong();
        assertThat(s.get("counts").get("chunks").asLong()).isEqualTo(chunks);
        assertThat(s.get("size").get("total_bytes").asLong()).isEqualTo(full.get("size").get("total_bytes").asLong())
                .isEqualTo(112_425_298_583L);
        assertThat(s.get("metadata_only").asBoolean()).isTrue();
        assertThat(s.get("anomalies").size()).isZero();
        long grouped = 0;
        for (var g : s.get("file_groups")) grouped += g.get("files").asLong();
        assertThat(grouped).isEqualTo(full.get("files").size());
        assertThat(s.get("config").get("num_layers").asLong()).isEqualTo(32);
    }

    @Test
    void summaryJsonListsEachAnomaly() throws Exception {
        Path copy = copyOfTp2();
        Files.delete(copy.resolve("iter_0000004/__1_0.distcp"));
        var s = new com.fasterxml.jackson.databind.ObjectMapper().readTree(ckpt("inspect", "--json", "--summary", copy.toString()).out());
        assertThat(s.get("status").asText()).startsWith("damaged: 1 of 2 data files missing");
        assertThat(s.get("metadata_only").asBoolean()).isFalse();
        assertThat(s.get("anomalies")).hasSize(1);
        assertThat(s.get("anomalies").get(0).get("kind").asText()).isEqualTo("missing");
        assertThat(s.get("anomalies").get(0).get("file").asText()).isEqualTo("__1_0.distcp");
        assertThat(s.get("counts").get("missing_data_files").asLong()).isEqualTo(1);
    }

    private static int indexOfLineStarting(List<String> lines, String prefix) {
        for (int i = 0; i < lines.size(); i++) if (lines.get(i).startsWith(prefix)) return i;
        return -1;
    }

    private Path copyOfTp2() throws IOException {
        Path dst = tmp.resolve("ckpt");
        try (Stream<Path> s = Files.walk(TP2)) {
            for (Path p : s.toList()) {
                Path t = dst.resolve(TP2.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
        return dst;
    }
}
