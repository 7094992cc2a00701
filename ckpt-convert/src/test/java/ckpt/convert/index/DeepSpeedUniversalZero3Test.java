package ckpt.convert.index;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.format.FormatException;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyGlobal;
import ckpt.format.pickle.TorchSize;
import ckpt.format.tensor.DType;
import ckpt.format.torchsave.TorchSaveWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A universal checkpoint converted from ZeRO-3: 1-d state tensors take their shape from param_shapes. */
class DeepSpeedUniversalZero3Test {
    @TempDir
    Path tmp;

    private static TorchSaveWriter.SmallTensor floats(int n, float add) {
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) b.putFloat(add + i);
        return new TorchSaveWriter.SmallTensor(DType.FLOAT32, new long[]{n}, b.array());
    }

    private Path write(int saved) throws IOException {
        Path tag = Files.createDirectories(tmp.resolve("global_step2_universal"));
        Files.writeString(tmp.resolve("latest_universal"), "global_step2_universal");
        PyDict ps = new PyDict(new PyGlobal("collections", "OrderedDict"));
        ps.put("w", new TorchSize(new long[]{2, 3}));
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("module", new PyDict(new PyGlobal("collections", "OrderedDict")));
        model.put("param_shapes", List.of(ps));
        model.put("shared_params", new LinkedHashMap<>());
        try (TorchSaveWriter w = TorchSaveWriter.create(tag.resolve("mp_rank_00_model_states.pt"))) {
            w.writeStructure(model);
            w.finish();
        }
        Path zw = Files.createDirectories(tag.resolve("zero/w"));
        float[] add = {0, 100, 200};
        String[] kinds = {"fp32", "exp_avg", "exp_avg_sq"};
        for (int k = 0; k < 3; k++) {
            try (TorchSaveWriter w = TorchSaveWriter.create(zw.resolve(kinds[k] + ".pt"))) {
                w.writeStructure(Map.of("param", floats(saved, add[k]), "cat_dim", 0L));
                w.finish();
            }
        }
        return tmp;
    }

    @Test
    void oneDimensionalStateTakesTheParameterShape() throws IOException {
        try (CheckpointIndex index = Checkpoints.open(write(6)); Arena arena = Arena.ofConfined()) {
            for (String key : new String[]{"w", DeepSpeedIndexer.EXP_AVG_PREFIX + "w", DeepSpeedIndexer.EXP_AVG_SQ_PREFIX + "w"}) {
                GlobalTensor t = index.tensor(key).orElseThrow();
                assertThat(t.shape()).containsExactly(2, 3);
                MemorySegment seg = arena.allocate(t.byteSize());
                TensorAssembler.assemble(t, seg);
                float base = key.equals("w") ? 0 : key.contains("exp_avg_sq") ? 200 : 100;
                assertThat(seg.toArray(ValueLayout.JAVA_FLOAT)).containsExactly(base, base + 1, base + 2, base + 3, base + 4, base + 5);
            }
        }
    }

    @Test
    void wrongElementCountIsRefused() throws IOException {
        Path save = write(5);
        assertThatThrownBy(() -> Checkpoints.open(save)).isInstanceOf(FormatException.class)
                .hasMessageContaining("fp32.pt").hasMessageContaining("holds 5 elements");
    }
}
