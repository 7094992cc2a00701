package ckpt.convert.exec;

import ckpt.convert.plan.DtypeChoice;
import ckpt.format.FormatException;
import ckpt.format.pickle.PyDict;
import ckpt.format.safetensors.ShardedSafetensors;
import ckpt.format.tensor.DType;
import ckpt.format.testing.Fixtures;
import ckpt.format.testing.IndependentZip;
import ckpt.format.testing.WeightsOnlyOpcodes;
import ckpt.format.torchsave.TensorRef;
import ckpt.format.torchsave.TorchSaveArchive;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Converts the real Megatron fixture (Llama-style, TP=2, GQA 8 heads / 2 groups, head dim 8, untied, vocab 1000
 * padded to 1024) to both formats and checks every output tensor bit for bit against the proven reader's global
 * tensors, transformed here by index arithmetic.
 */
class MegatronLlamaConvertTest {
    static final Path CKPT = Fixtures.path("megatron-llama-tp2/checkpoint");
    static final Path REF = Fixtures.path("megatron-llama-tp2/reference/iter_0000004");
    static final int L = 4, H = 64, N = 8, G = 2, D = 8, F = 192, V = 1000;

    static Expected expected;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        expected = Expected.of(CKPT.resolve("iter_0000004"));
    }

    /** HF name → expected bf16 bytes, computed from the mcore global tensors by row arithmetic (MAPPING.md §2.1, §2.2, §2.4). */
    static Map<String, byte[]> expectedHf() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("model.embed_tokens.weight", expected.rows("embedding.word_embeddings.weight", -1, 0, V));
        int p = N / G;
        for (int i = 0; i < L; i++) {
            String pre = "model.layers." + i + ".";
            String qkv = "decoder.layers.self_attention.linear_qkv.weight";
            List<byte[]> q = new ArrayList<>(), k = new ArrayList<>(), v = new ArrayList<>();
            for (int j = 0; j < G; j++) {
                // group j: rows [j(p+2)d, …): p query heads, then its key head, then its value head
                for (int t = 0; t < p; t++) q.add(expected.rows(qkv, i, (long) j * (p + 2) * D + (long) t * D, D));
                k.add(expected.rows(qkv, i, (long) j * (p + 2) * D + (long) p * D, D));
                v.add(expected.rows(qkv, i, (long) j * (p + 2) * D + (long) (p + 1) * D, D));
            }
            m.put(pre + "input_layernorm.weight", expected.layer("decoder.layers.self_attention.linear_qkv.layer_norm_weight", i));
            m.put(pre + "self_attn.q_proj.weight", Expected.concat(q.toArray(byte[][]::new)));
            m.put(pre + "self_attn.k_proj.weight", Expected.concat(k.toArray(byte[][]::new)));
            m.put(pre + "self_attn.v_proj.weight", Expected.concat(v.toArray(byte[][]::new)));
            m.put(pre + "self_attn.o_proj.weight", expected.layer("decoder.layers.self_attention.linear_proj.weight", i));
            m.put(pre + "post_attention_layernorm.weight", expected.layer("decoder.layers.mlp.linear_fc1.layer_norm_weight", i));
            m.put(pre + "mlp.gate_proj.weight", expected.rows("decoder.layers.mlp.linear_fc1.weight", i, 0, F));
            m.put(pre + "mlp.up_proj.weight", expected.rows("decoder.layers.mlp.linear_fc1.weight", i, F, F));
            m.put(pre + "mlp.down_proj.weight", expected.layer("decoder.layers.mlp.linear_fc2.weight", i));
        }
        m.put("model.norm.weight", expected.bytes.get("decoder.final_layernorm.weight"));
        m.put("lm_head.weight", expected.rows("output_layer.weight", -1, 0, V));
        return m;
    }

    static Map<String, long[]> expectedHfShapes() {
        Map<String, long[]> s = new LinkedHashMap<>();
        s.put("model.embed_tokens.weight", new long[]{V, H});
        for (int i = 0; i < L; i++) {
            String pre = "model.layers." + i + ".";
            s.put(pre + "input_layernorm.weight", new long[]{H});
            s.put(pre + "self_attn.q_proj.weight", new long[]{N * D, H});
            s.put(pre + "self_attn.k_proj.weight", new long[]{G * D, H});
            s.put(pre + "self_attn.v_proj.weight", new long[]{G * D, H});
            s.put(pre + "self_attn.o_proj.weight", new long[]{H, N * D});
            s.put(pre + "post_attention_layernorm.weight", new long[]{H});
            s.put(pre + "mlp.gate_proj.weight", new long[]{F, H});
            s.put(pre + "mlp.up_proj.weight", new long[]{F, H});
            s.put(pre + "mlp.down_proj.weight", new long[]{H, F});
        }
        s.put("model.norm.weight", new long[]{H});
        s.put("lm_head.weight", new long[]{V, H});
        return s;
    }

    private ConvertResult convert(ConvertOptions o) throws IOException {
        return new Converter().convert(o, ConversionListener.NONE);
    }

    @Test
    void huggingfaceTensorsAreTheSplitGlobalTensorsBitForBit() throws IOException {
        Path out = tmp.resolve("hf");
        ConvertResult r = convert(ConvertOptions.of(CKPT, OutputFormat.HUGGINGFACE, out));
        assertThat(r.architecture()).isEqualTo("LlamaForCausalLM");
        assertThat(r.iteration()).isEqualTo(4L);
        Map<String, byte[]> exp = expectedHf();
        Map<String, long[]> shapes = expectedHfShapes();
        try (ShardedSafetensors st = ShardedSafetensors.open(out)) {
            assertThat(new TreeSet<>(st.weightMap().keySet())).isEqualTo(new TreeSet<>(exp.keySet()));
            for (var e : exp.entrySet()) {
                ShardedSafetensors.Tensor t = st.tensor(e.getKey());
                assertThat(t.entry().dtype()).as(e.getKey()).isEqualTo(DType.BFLOAT16);
                assertThat(t.entry().shape()).as(e.getKey()).isEqualTo(shapes.get(e.getKey()));
                assertThat(t.data().toArray(ValueLayout.JAVA_BYTE)).as(e.getKey()).isEqualTo(e.getValue());
            }
            assertThat(st.shards().getFirst().header().metadata()).containsEntry("format", "pt");
        }

        JsonNode index = Fixtures.json(out.resolve("model.safetensors.index.json"));
        long total = exp.values().stream().mapToLong(b -> b.length).sum();
        assertThat(index.get("metadata").get("total_size").asLong()).isEqualTo(total);
        assertThat(index.get("metadata").get("total_parameters").asLong()).isEqualTo(total / 2);
        Map<String, String> weightMap = new LinkedHashMap<>();
        index.get("weight_map").fields().forEachRemaining(e -> weightMap.put(e.getKey(), e.getValue().asText()));
        assertThat(weightMap.keySet()).containsExactlyInAnyOrderElementsOf(exp.keySet());
        assertThat(new TreeSet<>(weightMap.values())).containsExactly("model-00001-of-00001.safetensors");
        assertThat(out.resolve("model-00001-of-00001.safetensors")).exists();

        JsonNode cfg = Fixtures.json(out.resolve("config.json"));
        assertThat(cfg.get("architectures").get(0).asText()).isEqualTo("LlamaForCausalLM");
        assertThat(cfg.get("model_type").asText()).isEqualTo("llama");
        assertThat(cfg.get("hidden_size").asInt()).isEqualTo(64);
        assertThat(cfg.get("intermediate_size").asInt()).isEqualTo(192);
        assertThat(cfg.get("num_hidden_layers").asInt()).isEqualTo(4);
        assertThat(cfg.get("num_attention_heads").asInt()).isEqualTo(8);
        assertThat(cfg.get("num_key_value_heads").asInt()).isEqualTo(2);
        assertThat(cfg.get("head_dim").asInt()).isEqualTo(8);
        assertThat(cfg.get("rms_norm_eps").asDouble()).isEqualTo(1e-5);
        assertThat(cfg.get("rope_theta").asDouble()).isEqualTo(10000.0);
        assertThat(cfg.get("rope_scaling").isNull()).isTrue();
        assertThat(cfg.get("vocab_size").asInt()).isEqualTo(1000);
        assertThat(cfg.get("tie_word_embeddings").asBoolean()).isFalse();
        assertThat(cfg.get("torch_dtype").asText()).isEqualTo("bfloat16");
        assertThat(cfg.get("max_position_embeddings").asInt()).isEqualTo(128);
        assertThat(cfg.get("hidden_act").asText()).isEqualTo("silu");
        assertThat(cfg.get("attention_bias").asBoolean()).isFalse();
        assertThat(cfg.get("mlp_bias").asBoolean()).isFalse();
        assertThat(r.warnings()).anyMatch(w -> w.contains("tokenizer")); // the fixture's tokenizer/ dir is empty
        assertNoLeftovers(out);
    }

    @Test
    void fp32IsExactWideningAndPaddedVocabCanBeKept() throws IOException {
        Path out = tmp.resolve("hf32");
        convert(ConvertOptions.of(CKPT, OutputFormat.HUGGINGFACE, out).withDtype(DtypeChoice.FP32).withKeepPaddedVocab(true));
        Map<String, byte[]> exp = expectedHf();
        exp.put("model.embed_tokens.weight", expected.bytes.get("embedding.word_embeddings.weight"));
        exp.put("lm_head.weight", expected.bytes.get("output_layer.weight"));
        try (ShardedSafetensors st = ShardedSafetensors.open(out)) {
            for (var e : exp.entrySet()) {
                ShardedSafetensors.Tensor t = st.tensor(e.getKey());
                assertThat(t.entry().dtype()).isEqualTo(DType.FLOAT32);
                assertThat(t.data().toArray(ValueLayout.JAVA_BYTE)).as(e.getKey()).isEqualTo(Expected.bf16ToFp32(e.getValue()));
            }
            assertThat(st.tensor("lm_head.weight").entry().shape()).containsExactly(1024, 64);
        }
        JsonNode cfg = Fixtures.json(out.resolve("config.json"));
        assertThat(cfg.get("vocab_size").asInt()).isEqualTo(1024);
        assertThat(cfg.get("torch_dtype").asText()).isEqualTo("float32");
    }

    @Test
    void smallShardLimitSplitsIntoSeveralShardsWithAConsistentIndex() throws IOException {
        Path out = tmp.resolve("sharded");
        convert(ConvertOptions.of(CKPT, OutputFormat.HUGGINGFACE, out).withMaxShardSize(200_000));
        JsonNode index = Fixtures.json(out.resolve("model.safetensors.index.json"));
        Map<String, String> weightMap = new LinkedHashMap<>();
        index.get("weight_map").fields().forEachRemaining(e -> weightMap.put(e.getKey(), e.getValue().asText()));
        TreeSet<String> files = new TreeSet<>(weightMap.values());
        assertThat(files.size()).isGreaterThan(1);
        assertThat(files.first()).isEqualTo("model-00001-of-0000" + files.size() + ".safetensors");
        long sum = 0;
        for (String f : files) {
            assertThat(Files.size(out.resolve(f))).isLessThanOrEqualTo(200_000 + 4096);
            try (var sf = ckpt.format.safetensors.SafetensorsFile.open(out.resolve(f))) {
                for (var e : sf.header().entries()) {
                    assertThat(weightMap.get(e.name())).isEqualTo(f);
                    sum += e.byteLength();
                }
            }
        }
        assertThat(index.get("metadata").get("total_size").asLong()).isEqualTo(sum);
        Map<String, byte[]> exp = expectedHf();
        try (ShardedSafetensors st = ShardedSafetensors.open(out)) {
            for (var e : exp.entrySet())
                assertThat(st.tensor(e.getKey()).data().toArray(ValueLayout.JAVA_BYTE)).as(e.getKey()).isEqualTo(e.getValue());
        }
    }

    @Test
    void pytorchStateDictHasTheLiveModelsKeysAndUnstackedTensors() throws IOException {
        Path out = tmp.resolve("pt");
        ConvertResult r = convert(ConvertOptions.of(CKPT, OutputFormat.PYTORCH, out));
        assertThat(r.files()).containsExactly("model.pt");
        Path file = out.resolve("model.pt");

        // Independent zip reader + opcode scan: what torch.load(weights_only=True) needs.
        List<IndependentZip.Entry> entries = IndependentZip.read(file);
        assertThat(entries.getFirst().name()).isEqualTo("model/data.pkl");
        assertThat(entries.getLast().name()).isEqualTo("model/version");
        for (IndependentZip.Entry e : entries)
            if (e.name().startsWith("model/data/")) assertThat(e.dataOffset() % 64).as(e.name()).isZero();
        WeightsOnlyOpcodes.Scan scan = WeightsOnlyOpcodes.scan(entries.getFirst().data());
        assertThat(scan.protocol()).isEqualTo(2);
        assertThat(new TreeSet<>(scan.globals())).containsExactly("collections.OrderedDict", "torch.BFloat16Storage", "torch._utils._rebuild_tensor_v2");

        checkAgainstLiveModel(file, REF, expected);
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file)) {
            TorchSaveArchive archive = TorchSaveArchive.open(file, ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena));
            PyDict root = (PyDict) archive.root();
            PyDict cfg = (PyDict) root.get("model_config");
            assertThat(cfg.get("num_layers")).isEqualTo(4L);
            assertThat(cfg.get("hidden_size")).isEqualTo(64L);
            assertThat(cfg.get("ffn_hidden_size")).isEqualTo(192L);
            assertThat(cfg.get("num_attention_heads")).isEqualTo(8L);
            assertThat(cfg.get("num_query_groups")).isEqualTo(2L);
            assertThat(cfg.get("kv_channels")).isEqualTo(8L);
            assertThat(cfg.get("vocab_size")).isEqualTo(1000L);
            assertThat(cfg.get("padded_vocab_size")).isEqualTo(1024L);
            assertThat(cfg.get("normalization")).isEqualTo("RMSNorm");
            assertThat(cfg.get("norm_epsilon")).isEqualTo(1e-5);
            assertThat(cfg.get("position_embedding_type")).isEqualTo("rope");
            assertThat(cfg.get("rotary_base")).isEqualTo(10000.0);
            assertThat(cfg.get("swiglu")).isEqualTo(true);
            assertThat(cfg.get("untie_embeddings_and_output_weights")).isEqualTo(true);
            assertThat(cfg.get("add_bias_linear")).isEqualTo(false);
            assertThat(cfg.get("max_position_embeddings")).isEqualTo(128L);
        }
        assertNoLeftovers(out);
    }

    @Test
    void dcpFsdp2ModelPartEqualsTheLiveFullState() throws IOException {
        Path out = tmp.resolve("fsdp");
        convert(ConvertOptions.of(Fixtures.path("dcp-fsdp2/checkpoint"), OutputFormat.PYTORCH, out));
        Path file = out.resolve("model.pt");
        assertThat(WeightsOnlyOpcodes.scan(IndependentZip.read(file).getFirst().data()).protocol()).isEqualTo(2);
        // Reference: the live model's full state dict, saved by PyTorch as safetensors (keys "model.<fqn>").
        try (var live = ckpt.format.safetensors.SafetensorsFile.open(Fixtures.path("dcp-fsdp2/live-full-state/live_full_state.safetensors"));
             Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file)) {
            TorchSaveArchive archive = TorchSaveArchive.open(file, ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena));
            PyDict root = (PyDict) archive.root();
            PyDict sd = (PyDict) root.get("model_state_dict");
            List<String> liveModel = live.header().entries().stream().map(e -> e.name()).filter(n -> n.startsWith("model."))
                    .map(n -> n.substring("model.".length())).toList();
            assertThat(new TreeSet<>(sd.items().keySet().stream().map(String::valueOf).toList())).isEqualTo(new TreeSet<>(liveModel));
            for (String k : liveModel) {
                TensorRef t = (TensorRef) sd.get(k);
                var e = live.header().entry("model." + k).orElseThrow();
                assertThat(t.shape()).as(k).isEqualTo(e.shape());
                assertThat(t.dtype()).as(k).isEqualTo(e.dtype());
                assertThat(archive.view(t).storage().toArray(ValueLayout.JAVA_BYTE)).as(k)
                        .isEqualTo(live.data(e).toArray(ValueLayout.JAVA_BYTE));
            }
            assertThat(((PyDict) root.get("model_config")).size()).isZero();
        }
    }

    @Test
    void existingOutputIsRefusedUnlessForced() throws IOException {
        Path out = tmp.resolve("exists");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "mine");
        assertThatThrownBy(() -> convert(ConvertOptions.of(CKPT, OutputFormat.PYTORCH, out)))
                .isInstanceOf(java.nio.file.FileAlreadyExistsException.class).hasMessageContaining("--force");
        assertThat(out.resolve("keep.txt")).hasContent("mine");
        assertNoLeftovers(out);

        // --force replaces only a directory ckpt wrote: this one holds someone's file
        assertThatThrownBy(() -> convert(ConvertOptions.of(CKPT, OutputFormat.PYTORCH, out).withForce(true)))
                .isInstanceOf(FormatException.class).hasMessageContaining("--force replaces only");
        assertThat(out.resolve("keep.txt")).hasContent("mine");

        Files.delete(out.resolve("keep.txt")); // an empty directory may be replaced
        convert(ConvertOptions.of(CKPT, OutputFormat.PYTORCH, out).withForce(true));
        assertThat(out.resolve("model.pt")).exists();
        assertThat(out.resolve(OutputDirGuard.MARKER)).exists();
        Files.writeString(out.resolve("notes.txt"), "added later");
        convert(ConvertOptions.of(CKPT, OutputFormat.PYTORCH, out).withForce(true)); // ckpt's own output: replaced
        assertThat(out.resolve("notes.txt")).doesNotExist();
        assertNoLeftovers(out);
    }

    @Test
    void aCorruptShardMidConversionLeavesNoOutputAndNoTempDir() throws IOException {
        // Copy the iteration and damage the record of the last tensor written (output_layer.weight): the failure
        // happens after most tensors are on disk.
        Path copy = tmp.resolve("ckpt");
        Files.createDirectories(copy);
        try (Stream<Path> s = Files.list(CKPT.resolve("iter_0000004"))) {
            for (Path p : (Iterable<Path>) s::iterator) if (Files.isRegularFile(p)) Files.copy(p, copy.resolve(p.getFileName()));
        }
        JsonNode md = Fixtures.json(REF.resolve("dcp_metadata.json"));
        JsonNode rec = null;
        for (JsonNode n : md.get("storage_data")) if (n.get("fqn").asText().equals("output_layer.weight")) rec = n; // the last chunk
        assertThat(rec).as("storage record of output_layer.weight in dcp_metadata.json").isNotNull();
        Path file = copy.resolve(rec.get("storage_relative_path").asText());
        long offset = rec.get("storage_offset").asLong();
        try (FileChannel ch = FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[64]), offset); // wipes the item's zip local header
        }
        for (OutputFormat f : OutputFormat.values()) {
            if (f == OutputFormat.MEGATRON) continue; // reads HF dirs, not Megatron checkpoints
            Path out = tmp.resolve("broken-" + f.id());
            List<String> written = new ArrayList<>();
            ConversionListener l = new ConversionListener() {
                @Override
                public void tensorWritten(ckpt.convert.plan.OutputTensor t) {
                    written.add(t.name());
                }
            };
            assertThatThrownBy(() -> new Converter().convert(ConvertOptions.of(copy, f, out), l)).isInstanceOf(FormatException.class);
            assertThat(written).as("tensors written before the failure").isNotEmpty();
            assertThat(out).doesNotExist();
            assertNoLeftovers(out);
        }
    }

    @Test
    void anArchitectureThatDoesNotFitIsAClearError() {
        assertThatThrownBy(() -> convert(ConvertOptions.of(CKPT, OutputFormat.HUGGINGFACE, tmp.resolve("x")).withArch("gpt2")))
                .isInstanceOf(FormatException.class)
                .hasMessageContaining("GPT2LMHeadModel").hasMessageContaining("RMSNorm").hasMessageContaining("supported: llama, mistral, qwen2, qwen3, mixtral, gpt2");
        assertThatThrownBy(() -> convert(ConvertOptions.of(CKPT, OutputFormat.HUGGINGFACE, tmp.resolve("y")).withArch("falcon")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("auto, llama, mistral, qwen2, qwen3, mixtral, gpt2");
        assertThat(tmp.resolve("x")).doesNotExist();
    }

    @Test
    void huggingfaceNeedsAMegatronCheckpoint() {
        assertThatThrownBy(() -> convert(ConvertOptions.of(Fixtures.path("dcp-fsdp2/checkpoint"), OutputFormat.HUGGINGFACE, tmp.resolve("z"))))
                .isInstanceOf(FormatException.class).hasMessageContaining("needs a Megatron checkpoint");
    }

    /**
     * Keys, shapes and dtypes exactly the live model's state_dict (reference model.json, written by Megatron), values
     * the slices the reference names (megatron_tp1_reload_vs_consolidated.json: dist key and layer index).
     */
    static void checkAgainstLiveModel(Path file, Path ref, Expected exp) throws IOException {
        JsonNode live = Fixtures.json(ref.resolve("model.json")).get("model_state_dict_keys");
        JsonNode reload = Fixtures.json(ref.resolve("megatron_tp1_reload_vs_consolidated.json"));
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file)) {
            TorchSaveArchive archive = TorchSaveArchive.open(file, ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena));
            PyDict sd = (PyDict) ((PyDict) archive.root()).get("model_state_dict");
            List<String> liveKeys = new ArrayList<>();
            live.fieldNames().forEachRemaining(liveKeys::add);
            assertThat(sd.items().keySet()).containsExactlyElementsOf(liveKeys);
            for (String k : liveKeys) {
                TensorRef t = (TensorRef) sd.get(k);
                long[] shape = new long[live.get(k).get(0).size()];
                for (int i = 0; i < shape.length; i++) shape[i] = live.get(k).get(0).get(i).asLong();
                assertThat(t.shape()).as(k).isEqualTo(shape);
                assertThat("torch." + t.dtype().torchName()).as(k).isEqualTo(live.get(k).get(1).asText());
                String distKey = reload.get(k).get("dist_key").asText();
                JsonNode layer = reload.get(k).get("layer_index");
                byte[] want = layer.isNull() ? exp.bytes.get(distKey) : exp.layer(distKey, layer.asLong());
                assertThat(archive.view(t).storage().toArray(ValueLayout.JAVA_BYTE)).as(k).isEqualTo(want);
            }
        }
    }

    @Test
    void qwen3ConvertsToPytorchWithTheLiveModelsKeys() throws IOException {
        Path qwen = Fixtures.path("megatron-qwen3-tp2/checkpoint");
        Path out = tmp.resolve("qwen-pt");
        convert(ConvertOptions.of(qwen, OutputFormat.PYTORCH, out));
        checkAgainstLiveModel(out.resolve("model.pt"), Fixtures.path("megatron-qwen3-tp2/reference/iter_0000004"),
                Expected.of(qwen.resolve("iter_0000004")));
    }

    /** No staging ({@code .tmp-}) or moved-aside ({@code .old-}) siblings remain. */
    static void assertNoLeftovers(Path out) throws IOException {
        try (Stream<Path> s = Files.list(out.getParent())) {
            assertThat(s.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith(out.getFileName() + ".tmp-") || n.startsWith(out.getFileName() + ".old-"))).isEmpty();
        }
    }
}
