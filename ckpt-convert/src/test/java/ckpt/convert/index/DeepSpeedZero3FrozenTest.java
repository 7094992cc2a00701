package ckpt.convert.index;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.format.megatron.KeyCategory;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyGlobal;
import ckpt.format.pickle.PyObject;
import ckpt.format.pickle.PyTuple;
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

/**
 * ZeRO-3 over two ranks with a buffer, a frozen parameter (per-rank fragments of ceil(numel / 2)) and a trainable
 * one whose last partition is padded: zero_to_fp32's order (buffers, frozen, trainable) and values.
 */
class DeepSpeedZero3FrozenTest {
    @TempDir
    Path tmp;

    private static TorchSaveWriter.SmallTensor floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        return new TorchSaveWriter.SmallTensor(DType.FLOAT32, new long[]{v.length}, b.array());
    }

    private Path write() throws IOException {
        Path tag = Files.createDirectories(tmp.resolve("global_step1"));
        float[][] frozen = {{10, 11}, {12, 13}};
        float[][] flat = {{0, 1}, {2, 0}};
        for (int r = 0; r < 2; r++) {
            PyDict module = new PyDict(new PyGlobal("collections", "OrderedDict"));
            module.put("buf", floats(7, 8));
            module.put("w", new TorchSaveWriter.SmallTensor(DType.FLOAT32, new long[]{0}, new byte[0]));
            PyDict ps = new PyDict(new PyGlobal("collections", "OrderedDict"));
            ps.put("w", new TorchSize(new long[]{3}));
            PyDict fs = new PyDict(new PyGlobal("collections", "OrderedDict"));
            fs.put("f", new TorchSize(new long[]{2, 2}));
            PyDict ff = new PyDict(new PyGlobal("collections", "OrderedDict"));
            ff.put("f", floats(frozen[r]));
            Map<String, Object> model = new LinkedHashMap<>();
            model.put("module", module);
            model.put("buffer_names", List.of("buf"));
            model.put("param_shapes", List.of(ps));
            model.put("frozen_param_shapes", fs);
            model.put("frozen_param_fragments", ff);
            model.put("shared_params", new LinkedHashMap<>());
            try (TorchSaveWriter w = TorchSaveWriter.create(tag.resolve("zero_pp_rank_" + r + "_mp_rank_00_model_states.pt"))) {
                w.writeStructure(model);
                w.finish();
            }
            Map<String, Object> osd = new LinkedHashMap<>();
            osd.put("zero_stage", new PyObject(new PyGlobal("deepspeed.runtime.zero.config", "ZeroStageEnum"), PyTuple.of(3L), null, PyObject.Origin.REDUCE));
            osd.put("partition_count", 2L);
            osd.put("fp32_flat_groups", List.of(floats(flat[r])));
            try (TorchSaveWriter w = TorchSaveWriter.create(tag.resolve("zero_pp_rank_" + r + "_mp_rank_00_optim_states.pt"))) {
                w.writeStructure(Map.of("optimizer_state_dict", osd));
                w.finish();
            }
        }
        return tag;
    }

    private static float[] values(Arena arena, GlobalTensor t) {
        MemorySegment seg = arena.allocate(t.byteSize());
        TensorAssembler.assemble(t, seg);
        return seg.toArray(ValueLayout.JAVA_FLOAT);
    }

    @Test
    void buffersFrozenAndTrainableInZeroToFp32Order() throws IOException {
        try (CheckpointIndex index = Checkpoints.open(write()); Arena arena = Arena.ofConfined()) {
            assertThat(DeepSpeedIndexer.stateDictKeys(index)).containsExactly("buf", "f", "w");
            assertThat(values(arena, index.tensor("buf").orElseThrow())).containsExactly(7, 8);
            GlobalTensor f = index.tensor("f").orElseThrow();
            assertThat(f.shape()).containsExactly(2, 2);
            assertThat(f.category()).isEqualTo(KeyCategory.MODEL_WEIGHT);
            assertThat(values(arena, f)).containsExactly(10, 11, 12, 13);
            GlobalTensor w = index.tensor("w").orElseThrow();
            assertThat(w.category()).isEqualTo(KeyCategory.OPTIMIZER_MASTER);
            assertThat(values(arena, w)).containsExactly(0, 1, 2);
            assertThat(index.details().get("parameters")).isEqualTo(7L);
            assertThat(index.details().get("module_placeholders")).isEqualTo(1);
            assertThat(index.details().get("padding_elements_per_state")).isEqualTo(1L);
        }
    }
}
