package ckpt.format.torchsave;

import ckpt.format.pickle.PyDict;
import ckpt.format.tensor.DType;
import ckpt.format.testing.IndependentZip;
import ckpt.format.testing.WeightsOnlyOpcodes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TorchSaveWriterTest {
    @TempDir
    Path tmp;

    private static final List<String> ALLOWED_GLOBALS = List.of("torch._utils._rebuild_tensor_v2",
            "torch._utils._rebuild_tensor_v3", "collections.OrderedDict", "torch.BFloat16Storage", "torch.FloatStorage",
            "torch.HalfStorage", "torch.LongStorage", "torch.storage.UntypedStorage", "torch.float8_e4m3fn");

    @Test
    void writesAWeightsOnlyLoadableArchiveWithAlignedStorages() throws IOException {
        Path file = tmp.resolve("model.pt");
        Map<String, byte[]> bytes = new LinkedHashMap<>();
        Random rnd = new Random(7);
        try (TorchSaveWriter w = TorchSaveWriter.create(file)) {
            Map<String, Object> sd = new LinkedHashMap<>();
            sd.put("a.weight", w.tensor(DType.BFLOAT16, new long[]{3, 5}));
            sd.put("scalar", w.tensor(DType.FLOAT32, new long[]{}));
            sd.put("empty", w.tensor(DType.FLOAT32, new long[]{0, 4}));
            sd.put("fp8", w.tensor(DType.FLOAT8_E4M3FN, new long[]{4}));
            sd.put("ids", w.tensor(DType.INT64, new long[]{2, 2}));
            Map<String, Object> cfg = new LinkedHashMap<>();
            cfg.put("num_layers", 4L);
            cfg.put("normalization", "RMSNorm");
            cfg.put("eps", 1e-5);
            cfg.put("swiglu", true);
            cfg.put("window", null);
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("model_state_dict", sd);
            root.put("model_config", cfg);
            w.writeStructure(root);
            for (var e : sd.entrySet()) {
                TorchSaveWriter.TensorRecord t = (TorchSaveWriter.TensorRecord) e.getValue();
                byte[] b = new byte[(int) t.byteSize()];
                rnd.nextBytes(b);
                bytes.put(e.getKey(), b);
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment region = w.map(t, arena);
                    MemorySegment.copy(b, 0, region, ValueLayout.JAVA_BYTE, 0, b.length);
                    w.complete(t, region);
                }
            }
            assertThat(w.finish()).isEqualTo(Files.size(file));
        }

        // Independent zip reader: torch's record order, prefix from the file stem, STORED, CRCs, 64-byte alignment.
        List<IndependentZip.Entry> entries = IndependentZip.read(file);
        assertThat(entries).extracting(IndependentZip.Entry::name).containsExactly("model/data.pkl",
                "model/.format_version", "model/.storage_alignment", "model/byteorder", "model/data/0", "model/data/1",
                "model/data/2", "model/data/3", "model/data/4", "model/version");
        for (IndependentZip.Entry e : entries)
            if (e.name().startsWith("model/data/")) assertThat(e.dataOffset() % 64).as(e.name()).isZero();
        Map<String, byte[]> c = IndependentZip.contents(file);
        assertThat(new String(c.get("model/version"))).isEqualTo("3\n");
        assertThat(new String(c.get("model/byteorder"))).isEqualTo("little");
        assertThat(new String(c.get("model/.storage_alignment"))).isEqualTo("64");

        WeightsOnlyOpcodes.Scan scan = WeightsOnlyOpcodes.scan(c.get("model/data.pkl"));
        assertThat(scan.protocol()).isEqualTo(2);
        assertThat(scan.globals()).isSubsetOf(ALLOWED_GLOBALS);

        // Our reader sees the tree and each tensor's bytes.
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file)) {
            TorchSaveArchive archive = TorchSaveArchive.open(file, ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena));
            PyDict root = (PyDict) archive.root();
            PyDict sd = (PyDict) root.get("model_state_dict");
            assertThat(sd.items().keySet()).containsExactly("a.weight", "scalar", "empty", "fp8", "ids");
            TensorRef a = (TensorRef) sd.get("a.weight");
            assertThat(a.dtype()).isEqualTo(DType.BFLOAT16);
            assertThat(a.shape()).containsExactly(3, 5);
            assertThat(a.stride()).containsExactly(5, 1);
            assertThat(((TensorRef) sd.get("scalar")).shape()).isEmpty();
            assertThat(((TensorRef) sd.get("fp8")).dtype()).isEqualTo(DType.FLOAT8_E4M3FN);
            for (String k : bytes.keySet()) {
                TensorRef t = (TensorRef) sd.get(k);
                assertThat(archive.view(t).storage().toArray(ValueLayout.JAVA_BYTE)).as(k).isEqualTo(bytes.get(k));
            }
            PyDict cfg = (PyDict) root.get("model_config");
            assertThat(cfg.get("num_layers")).isEqualTo(4L);
            assertThat(cfg.get("eps")).isEqualTo(1e-5);
            assertThat(cfg.get("swiglu")).isEqualTo(true);
            assertThat(cfg.items()).containsKey("window");
        }
    }

    @Test
    void refusesToFinishBeforeEveryTensorIsComplete() throws IOException {
        Path file = tmp.resolve("x.pt");
        try (TorchSaveWriter w = TorchSaveWriter.create(file)) {
            TorchSaveWriter.TensorRecord t = w.tensor(DType.FLOAT32, new long[]{2});
            w.writeStructure(Map.of("t", t));
            assertThatThrownBy(w::finish).isInstanceOf(IllegalStateException.class).hasMessageContaining("never completed");
        }
        assertThatThrownBy(() -> TorchSaveWriter.create(file)).isInstanceOf(java.nio.file.FileAlreadyExistsException.class);
    }

    @Test
    void refusesDeclaredTensorsMissingFromTheTree() throws IOException {
        try (TorchSaveWriter w = TorchSaveWriter.create(tmp.resolve("y.pt"))) {
            w.tensor(DType.FLOAT32, new long[]{2});
            assertThatThrownBy(() -> w.writeStructure(Map.of())).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void prefixIsTheFileStem() {
        assertThat(TorchSaveWriter.prefixFor(Path.of("/a/model.pt"))).isEqualTo("model");
        assertThat(TorchSaveWriter.prefixFor(Path.of("mp_rank_00_model_states.pt"))).isEqualTo("mp_rank_00_model_states");
        assertThat(TorchSaveWriter.prefixFor(Path.of("modèle.pt"))).isEqualTo("archive");
    }
}
