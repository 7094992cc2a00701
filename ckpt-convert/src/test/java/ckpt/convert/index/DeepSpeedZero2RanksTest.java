package ckpt.convert.index;

import ckpt.convert.assembly.TensorAssembler;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyGlobal;
import ckpt.format.pickle.PyObject;
import ckpt.format.pickle.PyTuple;
import ckpt.format.pickle.TorchSize;
import ckpt.format.tensor.DType;
import ckpt.format.torchsave.TorchSaveWriter;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
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
 * ZeRO-2 over two ranks with a parameter straddling them and group padding, written the two ways DeepSpeed 0.14.5
 * does: {@code DeepSpeedZeroOptimizer} cuts the padding off the last rank's saved fp32 partition (its Adam moments
 * keep the padded length); the {@code BF16_Optimizer} saves it padded and records no {@code zero_stage}. Element
 * {@code k} of the group's flat vector holds the value {@code k} (moments {@code 100 + k}), so every parameter's
 * expected values follow from {@code param_shapes} alone.
 */
class DeepSpeedZero2RanksTest {
    @TempDir
    Path tmp;

    // a[3], b[2,3], c[4]: 13 elements, padded to a multiple of 2 × 2 → 16, 8 per rank; rank 1 pads 3.
    static final Map<String, long[]> SHAPES = new LinkedHashMap<>();

    static {
        SHAPES.put("a", new long[]{3});
        SHAPES.put("b", new long[]{2, 3});
        SHAPES.put("c", new long[]{4});
    }

    private static TorchSaveWriter.SmallTensor floats(long from, long count, float add) {
        ByteBuffer b = ByteBuffer.allocate((int) (4 * count)).order(ByteOrder.LITTLE_ENDIAN);
        for (long k = 0; k < count; k++) b.putFloat(k + from < 13 ? add + from + k : 0f);
        return new TorchSaveWriter.SmallTensor(DType.FLOAT32, new long[]{count}, b.array());
    }

    private Path write(boolean bf16Optimizer) throws IOException {
        Path tag = Files.createDirectories(tmp.resolve("global_step2"));
        PyDict ps = new PyDict(new PyGlobal("collections", "OrderedDict"));
        SHAPES.forEach((k, v) -> ps.put(k, new TorchSize(v)));
        Map<String, Object> model = new LinkedHashMap<>();
        PyDict module = new PyDict(new PyGlobal("collections", "OrderedDict"));
        model.put("module", module);
        model.put("buffer_names", List.of());
        model.put("param_shapes", List.of(ps));
        model.put("shared_params", new LinkedHashMap<>());
        model.put("ds_config", Map.of("zero_optimization", Map.of("stage", bf16Optimizer ? 0L : 2L), "bf16", Map.of("enabled", true)));
        try (TorchSaveWriter w = TorchSaveWriter.create(tag.resolve("mp_rank_00_model_states.pt"))) {
            w.writeStructure(model);
            w.finish();
        }
        for (int r = 0; r < 2; r++) {
            long saved = r == 1 && !bf16Optimizer ? 5 : 8;
            Map<String, Object> osd = new LinkedHashMap<>();
            if (!bf16Optimizer)
                osd.put("zero_stage", new PyObject(new PyGlobal("deepspeed.runtime.zero.config", "ZeroStageEnum"), PyTuple.of(2L), null, PyObject.Origin.REDUCE));
            osd.put("partition_count", List.of(2L));
            osd.put("group_paddings", List.of(r == 1 ? 3L : 0L));
            osd.put("single_partition_of_fp32_groups", List.of(floats(8L * r, saved, 0)));
            Map<String, Object> st = new LinkedHashMap<>();
            st.put("exp_avg", floats(8L * r, 8, 100));
            st.put("exp_avg_sq", floats(8L * r, 8, 200));
            osd.put("base_optimizer_state", Map.of("state", Map.of(0L, st), "param_groups", List.of()));
            String name = (bf16Optimizer ? "bf16_" : "") + "zero_pp_rank_" + r + "_mp_rank_00_optim_states.pt";
            try (TorchSaveWriter w = TorchSaveWriter.create(tag.resolve(name))) {
                w.writeStructure(Map.of("optimizer_state_dict", osd, "ds_config", model.get("ds_config")));
                w.finish();
            }
        }
        return tmp;
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void parametersComeBackFromBothRanks(boolean bf16Optimizer) throws IOException {
        try (CheckpointIndex index = Checkpoints.open(write(bf16Optimizer)); Arena arena = Arena.ofConfined()) {
            assertThat(index.era()).startsWith("DeepSpeed ZeRO stage " + (bf16Optimizer ? 1 : 2) + ", bf16, world size 2");
            long first = 0;
            for (var e : SHAPES.entrySet()) {
                long n = 1;
                for (long d : e.getValue()) n *= d;
                for (String prefix : new String[]{"", DeepSpeedIndexer.EXP_AVG_PREFIX, DeepSpeedIndexer.EXP_AVG_SQ_PREFIX}) {
                    GlobalTensor t = index.tensor(prefix + e.getKey()).orElseThrow();
                    assertThat(t.shape()).isEqualTo(e.getValue());
                    MemorySegment seg = arena.allocate(t.byteSize());
                    TensorAssembler.assemble(t, seg);
                    float add = prefix.isEmpty() ? 0 : prefix.equals(DeepSpeedIndexer.EXP_AVG_PREFIX) ? 100 : 200;
                    for (long k = 0; k < n; k++)
                        assertThat(seg.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, k)).as(t.key() + "[" + k + "]").isEqualTo(add + first + k);
                }
                first += n;
            }
            // Padding: 3 elements of each moment on rank 1, and of the fp32 partition only where it was saved padded.
            long paddingBytes = index.objects().stream().filter(o -> o.category() == ckpt.format.megatron.KeyCategory.PADDING)
                    .mapToLong(ObjectEntry::bytes).sum();
            assertThat(paddingBytes).isEqualTo(4 * 3 * (bf16Optimizer ? 3 : 2));
        }
    }
}
