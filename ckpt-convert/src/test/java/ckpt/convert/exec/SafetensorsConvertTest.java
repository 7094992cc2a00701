package ckpt.convert.exec;

import ckpt.convert.plan.DtypeChoice;
import ckpt.convert.plan.KeyFilter;
import ckpt.format.FormatException;
import ckpt.format.pickle.PyDict;
import ckpt.format.testing.Fixtures;
import ckpt.format.torchsave.TensorRef;
import ckpt.format.torchsave.TorchSaveArchive;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code --format safetensors}: every output is parsed by a reader written here from the safetensors spec (not the
 * project's reader), every tensor's bytes are hashed and compared with the fixture's reference sha256 (computed by
 * PyTorch / Megatron when the fixture was made), and the tensors equal {@code --format pytorch}'s
 * {@code model_state_dict} exactly: names, dtypes, shapes, bytes.
 */
class SafetensorsConvertTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** safetensors dtype → torch dtype name and element size, from the spec. */
    private static final Map<String, String> TORCH = Map.ofEntries(Map.entry("F64", "float64"), Map.entry("F32", "float32"),
            Map.entry("F16", "float16"), Map.entry("BF16", "bfloat16"), Map.entry("I64", "int64"), Map.entry("I32", "int32"),
            Map.entry("I16", "int16"), Map.entry("I8", "int8"), Map.entry("U8", "uint8"), Map.entry("BOOL", "bool"),
            Map.entry("C64", "complex64"), Map.entry("F8_E4M3", "float8_e4m3fn"), Map.entry("F8_E5M2", "float8_e5m2"));
    private static final Map<String, Integer> SIZE = Map.ofEntries(Map.entry("F64", 8), Map.entry("F32", 4), Map.entry("F16", 2),
            Map.entry("BF16", 2), Map.entry("I64", 8), Map.entry("I32", 4), Map.entry("I16", 2), Map.entry("I8", 1), Map.entry("U8", 1),
            Map.entry("BOOL", 1), Map.entry("C64", 8), Map.entry("F8_E4M3", 1), Map.entry("F8_E5M2", 1));
    private static final Pattern LAYER = Pattern.compile("decoder\\.layers\\.(\\d+)\\.(.+)");

    @TempDir
    Path tmp;

    /** One tensor as the independent reader sees it. */
    record Read(String dtype, long[] shape, byte[] bytes) {
    }

    @ParameterizedTest
    @ValueSource(strings = {"dcp-fsdp2/checkpoint", "dcp-variety/checkpoint", "dcp-variety-safetensors/checkpoint",
            "dcp-variety-hf/checkpoint"})
    void dcpModelTensorsMatchTheReferenceSha256(String fixture) throws IOException {
        Map<String, Read> out = convertAndRead(Fixtures.path(fixture), KeyFilter.NONE, 1L << 10);
        JsonNode ref = Fixtures.json(Fixtures.path(fixture).resolveSibling("reference").resolve("tensors.json"));
        boolean appState = ref.has("model.embed.weight");
        int expected = 0;
        for (Iterator<String> it = ref.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (appState ? k.startsWith("model.") : isPlainWeight(k)) expected++;
        }
        assertThat(out).hasSize(expected);
        out.forEach((name, t) -> assertMatches(name, t, ref.get(appState ? "model." + name : name)));
    }

    /** Keys of the variety fixtures that are not model weights: nested objects and lists, stored by path. */
    private static boolean isPlainWeight(String key) {
        return !key.startsWith("nested.") && !key.startsWith("list_of_tensors.");
    }

    @ParameterizedTest
    @ValueSource(strings = {"zip_module_state.pt", "zip_dtypes.pt", "legacy_nonzip.pt", "zip_single_tensor.pt"})
    void torchSaveTensorsMatchTheReference(String file) throws IOException {
        Map<String, Read> out = convertAndRead(Fixtures.path("torch-save/files", file), KeyFilter.NONE, 1L << 10);
        JsonNode ref = Fixtures.json(Fixtures.path("torch-save/reference", file + ".json")).get("tensors");
        assertThat(out).isNotEmpty().hasSize(ref.size());
        out.forEach((name, t) -> assertMatches(name, t, ref.get(name)));
    }

    @Test
    void includeChoosesKeysTheDefaultLeavesOut() throws IOException {
        // zip_nested.pt holds no model weights, only a nested object and a list: refused without --include.
        assertThatThrownBy(() -> new Converter().convert(ConvertOptions.of(Fixtures.path("torch-save/files/zip_nested.pt"),
                OutputFormat.SAFETENSORS, tmp.resolve("none")), ConversionListener.NONE))
                .isInstanceOf(FormatException.class).hasMessageContaining("--include");
        Map<String, Read> out = convertAndRead(Fixtures.path("torch-save/files/zip_nested.pt"),
                new KeyFilter(List.of("*"), List.of("list_of_tensors.1")), 1L << 10);
        JsonNode ref = Fixtures.json(Fixtures.path("torch-save/reference/zip_nested.pt.json")).get("tensors");
        assertThat(out.keySet()).containsExactlyInAnyOrder("state.w", "state.b", "list_of_tensors.0");
        out.forEach((name, t) -> assertMatches(name, t, ref.get(name.replace('.', '/')))); // the reference joins paths with '/'

        // Optimizer state of an app-state DCP, by glob.
        Map<String, Read> optim = convertAndRead(Fixtures.path("dcp-fsdp2/checkpoint"),
                new KeyFilter(List.of("optim.state.*.exp_avg"), List.of()), 1L << 10);
        JsonNode fsdp = Fixtures.json(Fixtures.path("dcp-fsdp2/reference/tensors.json"));
        assertThat(optim).isNotEmpty().allSatisfy((name, t) -> {
            assertThat(name).startsWith("optim.state.").endsWith(".exp_avg");
            assertMatches(name, t, fsdp.get(name));
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"megatron-llama-tp2/checkpoint", "megatron-llama-tp2-legacy-torch/checkpoint",
            "megatron-llama-tp2-core014/checkpoint", "megatron-qwen3-tp2/checkpoint"})
    void megatronLayersConcatenateToTheReferenceStackedTensors(String fixture) throws IOException {
        Map<String, Read> out = convertAndRead(Fixtures.path(fixture), KeyFilter.NONE, 1L << 30);
        // The legacy fixture is the same training run as megatron-llama-tp2, saved as mp_rank_* (its README).
        Path refDir = Fixtures.path(fixture.replace("-legacy-torch", "")).resolveSibling("reference");
        Path iter;
        try (var s = Files.list(refDir)) {
            iter = s.filter(p -> p.getFileName().toString().startsWith("iter_")).max(Path::compareTo).orElseThrow();
        }
        JsonNode ref = Fixtures.json(iter.resolve("tensors.json"));
        // Layer i of a stacked [L, …] tensor is its i-th contiguous block: concatenating layers in order rebuilds it.
        Map<String, TreeMap<Integer, byte[]>> stacked = new LinkedHashMap<>();
        int matched = 0;
        for (var e : out.entrySet()) {
            Matcher m = LAYER.matcher(e.getKey());
            if (m.matches()) {
                stacked.computeIfAbsent("decoder.layers." + m.group(2), k -> new TreeMap<>()).put(Integer.parseInt(m.group(1)), e.getValue().bytes());
            } else {
                assertMatches(e.getKey(), e.getValue(), ref.get(e.getKey()));
                matched++;
            }
        }
        for (var e : stacked.entrySet()) {
            // The local (non-TE) layer spec's norms are stored under the TE names of the layer they feed.
            JsonNode r = ref.has(e.getKey()) ? ref.get(e.getKey()) : ref.get(e.getKey()
                    .replace("input_layernorm.weight", "self_attention.linear_qkv.layer_norm_weight")
                    .replace("pre_mlp_layernorm.weight", "mlp.linear_fc1.layer_norm_weight"));
            assertThat(r).as(e.getKey()).isNotNull();
            assertThat(e.getValue().size()).isEqualTo(r.get("shape").get(0).asInt());
            int n = e.getValue().values().stream().mapToInt(b -> b.length).sum();
            byte[] all = new byte[n];
            int at = 0;
            for (byte[] b : e.getValue().values()) {
                System.arraycopy(b, 0, all, at, b.length);
                at += b.length;
            }
            assertThat(Fixtures.sha256(all)).as(e.getKey()).isEqualTo(r.get("sha256").asText());
            matched++;
        }
        assertThat(matched).isGreaterThan(5);
    }

    @ParameterizedTest
    @ValueSource(strings = {"megatron-llama-tp2/checkpoint", "megatron-qwen3-tp2/checkpoint", "dcp-fsdp2/checkpoint",
            "dcp-variety/checkpoint", "torch-save/files/zip_module_state.pt"})
    void sameTensorsAsPytorchModelStateDict(String fixture) throws IOException {
        for (DtypeChoice d : List.of(DtypeChoice.KEEP, DtypeChoice.BF16)) {
            Path st = tmp.resolve("st-" + d), pt = tmp.resolve("pt-" + d);
            new Converter().convert(ConvertOptions.of(Fixtures.path(fixture), OutputFormat.SAFETENSORS, st).withDtype(d), ConversionListener.NONE);
            new Converter().convert(ConvertOptions.of(Fixtures.path(fixture), OutputFormat.PYTORCH, pt).withDtype(d), ConversionListener.NONE);
            Map<String, Read> fromSt = readDir(st);
            Map<String, Read> fromPt = new LinkedHashMap<>();
            Path file = pt.resolve("model.pt");
            try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file)) {
                TorchSaveArchive archive = TorchSaveArchive.open(file, ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena));
                PyDict sd = (PyDict) ((PyDict) archive.root()).get("model_state_dict");
                for (var e : sd.items().entrySet()) {
                    TensorRef t = (TensorRef) e.getValue();
                    String sname = t.dtype().safetensorsName().orElseThrow();
                    fromPt.put((String) e.getKey(), new Read(sname, t.shape(), archive.view(t).storage().toArray(ValueLayout.JAVA_BYTE)));
                }
            }
            assertThat(fromSt.keySet()).as(fixture + " " + d).containsExactlyInAnyOrderElementsOf(fromPt.keySet());
            fromPt.forEach((name, p) -> {
                Read s = fromSt.get(name);
                assertThat(s.dtype()).as(name).isEqualTo(p.dtype());
                assertThat(s.shape()).as(name).isEqualTo(p.shape());
                assertThat(s.bytes()).as(name).isEqualTo(p.bytes());
            });
        }
    }

    private Map<String, Read> convertAndRead(Path in, KeyFilter keys, long maxShard) throws IOException {
        Path out = tmp.resolve("out-" + Math.abs(in.hashCode()) + "-" + keys.hashCode());
        new Converter().convert(ConvertOptions.of(in, OutputFormat.SAFETENSORS, out).withKeys(keys).withMaxShardSize(maxShard),
                ConversionListener.NONE);
        return readDir(out);
    }

    private static void assertMatches(String name, Read t, JsonNode ref) {
        assertThat(ref).as("reference for " + name).isNotNull();
        assertThat(TORCH.get(t.dtype())).as(name).isEqualTo(ref.get("dtype").asText());
        assertThat(t.shape()).as(name).isEqualTo(Fixtures.longs(ref.get("shape")));
        assertThat(Fixtures.sha256(t.bytes())).as(name).isEqualTo(ref.get("sha256").asText());
    }

    /** Every shard the index names, each parsed from the spec; the index must list exactly the tensors stored. */
    static Map<String, Read> readDir(Path dir) throws IOException {
        JsonNode index = JSON.readTree(dir.resolve("model.safetensors.index.json").toFile());
        Map<String, String> weightMap = new LinkedHashMap<>();
        index.get("weight_map").properties().forEach(e -> weightMap.put(e.getKey(), e.getValue().asText()));
        Map<String, Read> all = new LinkedHashMap<>();
        long total = 0;
        for (String shard : weightMap.values().stream().distinct().sorted().toList()) {
            Map<String, Read> one = readFile(dir.resolve(shard));
            one.forEach((k, v) -> assertThat(weightMap.get(k)).as(k).isEqualTo(shard));
            for (Read r : one.values()) total += r.bytes().length;
            all.putAll(one);
        }
        assertThat(all.keySet()).containsExactlyInAnyOrderElementsOf(weightMap.keySet());
        assertThat(index.get("metadata").get("total_size").asLong()).isEqualTo(total);
        return all;
    }

    /** A safetensors file: u64 LE header size, JSON header, data; offsets relative to the data start, tiling it. */
    static Map<String, Read> readFile(Path file) throws IOException {
        byte[] b = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(n).isPositive().isLessThanOrEqualTo(b.length - 8);
        JsonNode header = JSON.readTree(new String(b, 8, (int) n, StandardCharsets.UTF_8));
        int data = 8 + (int) n;
        Map<String, Read> out = new LinkedHashMap<>();
        long[][] ranges = new long[header.size()][];
        int i = 0;
        for (var e : header.properties()) {
            if (e.getKey().equals("__metadata__")) {
                ranges = Arrays.copyOf(ranges, ranges.length - 1);
                continue;
            }
            JsonNode t = e.getValue();
            String dtype = t.get("dtype").asText();
            long[] shape = Fixtures.longs(t.get("shape"));
            long begin = t.get("data_offsets").get(0).asLong(), end = t.get("data_offsets").get(1).asLong();
            long numel = 1;
            for (long d : shape) numel *= d;
            assertThat(end - begin).as(e.getKey()).isEqualTo(numel * SIZE.get(dtype));
            assertThat(data + end).as(e.getKey()).isLessThanOrEqualTo(b.length);
            ranges[i++] = new long[]{begin, end};
            out.put(e.getKey(), new Read(dtype, shape, Arrays.copyOfRange(b, data + (int) begin, data + (int) end)));
        }
        Arrays.sort(ranges, (x, y) -> Long.compare(x[0], y[0]));
        long at = 0;
        for (long[] r : ranges) {
            assertThat(r[0]).as("tensors tile the data section").isEqualTo(at);
            at = r[1];
        }
        assertThat(data + at).isEqualTo(b.length);
        return out;
    }
}
