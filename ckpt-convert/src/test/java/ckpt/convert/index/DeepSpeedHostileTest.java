package ckpt.convert.index;

import ckpt.format.FormatException;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Forged ZeRO-2 checkpoints (one rank, one group) written with ckpt's torch.save writer: each lie in a saved length,
 * shape or count gives one FormatException naming the file and the rank, never a crash or a wrong tensor.
 */
class DeepSpeedHostileTest {
    @TempDir
    Path tmp;

    /** A ZeRO-2 tag dir whose model states claim {@code shapes} and whose rank 0 saved {@code partition} fp32 elements. */
    private Path zero2(Map<String, Object> shapes, long partition, Object partitionCount, long recordedPadding) throws IOException {
        return zero2(shapes, partition, partitionCount, recordedPadding, null);
    }

    /** A fragment_address(numel, start) as DeepSpeed pickles it (a dataclass: NEWOBJ + BUILD state). */
    private static PyObject fragment(long numel, long start) {
        PyObject o = new PyObject(new PyGlobal("deepspeed.utils.tensor_fragment", "fragment_address"), PyTuple.EMPTY, null, PyObject.Origin.NEWOBJ);
        PyDict st = new PyDict();
        st.put("numel", numel);
        st.put("start", start);
        o.setState(st);
        return o;
    }

    private Path zero2(Map<String, Object> shapes, long partition, Object partitionCount, long recordedPadding,
                       Map<String, Object> sliceMappings) throws IOException {
        Path tag = Files.createDirectories(tmp.resolve("global_step1"));
        PyDict ps = new PyDict(new PyGlobal("collections", "OrderedDict"));
        shapes.forEach(ps::put);
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("module", new PyDict(new PyGlobal("collections", "OrderedDict")));
        model.put("buffer_names", List.of());
        model.put("param_shapes", List.of(ps));
        model.put("shared_params", new LinkedHashMap<>());
        model.put("ds_version", "0.14.5");
        try (TorchSaveWriter w = TorchSaveWriter.create(tag.resolve("mp_rank_00_model_states.pt"))) {
            w.writeStructure(model);
            w.finish();
        }
        Map<String, Object> osd = new LinkedHashMap<>();
        osd.put("zero_stage", new PyObject(new PyGlobal("deepspeed.runtime.zero.config", "ZeroStageEnum"), PyTuple.of(2L), null, PyObject.Origin.REDUCE));
        osd.put("partition_count", partitionCount);
        osd.put("group_paddings", List.of(recordedPadding));
        if (sliceMappings != null) {
            PyDict m = new PyDict(new PyGlobal("collections", "OrderedDict"));
            sliceMappings.forEach(m::put);
            osd.put("param_slice_mappings", List.of(m));
        }
        osd.put("single_partition_of_fp32_groups", List.of(new TorchSaveWriter.SmallTensor(DType.FLOAT32, new long[]{partition},
                new byte[(int) (4 * partition)])));
        try (TorchSaveWriter w = TorchSaveWriter.create(tag.resolve("zero_pp_rank_0_mp_rank_00_optim_states.pt"))) {
            w.writeStructure(Map.of("optimizer_state_dict", osd));
            w.finish();
        }
        return tag;
    }

    private static void assertRejected(Path tag, String... fragments) {
        assertThatThrownBy(() -> Checkpoints.open(tag)).isInstanceOf(FormatException.class).satisfies(e -> {
            assertThat(e.getMessage()).doesNotContain("\n");
            for (String f : fragments) assertThat(e.getMessage()).contains(f);
        });
    }

    @Test
    void soundForgeryOpens() throws IOException {
        Path tag = zero2(Map.of("w", new TorchSize(new long[]{3, 5})), 16, List.of(1L), 1);
        try (CheckpointIndex index = Checkpoints.open(tag)) {
            assertThat(index.tensor("w").orElseThrow().shape()).containsExactly(3, 5);
            assertThat(index.details().get("padding_elements_per_state")).isEqualTo(1L);
        }
    }

    @Test
    void partitionShorterThanTheParameters() throws IOException {
        assertRejected(zero2(Map.of("w", new TorchSize(new long[]{30, 5})), 16, List.of(1L), 0),
                "zero_pp_rank_0_mp_rank_00_optim_states.pt", "rank 0", "partition too short", "parameter w");
    }

    @Test
    void paddingBeyondTheAlignment() throws IOException {
        assertRejected(zero2(Map.of("w", new TorchSize(new long[]{3, 5})), 64, List.of(1L), 49), "rank 0", "param_shapes disagree");
    }

    @Test
    void recordedPaddingDisagrees() throws IOException {
        assertRejected(zero2(Map.of("w", new TorchSize(new long[]{3, 5})), 16, List.of(1L), 7), "rank 0", "group_paddings records 7");
    }

    @Test
    void layoutMustAgreeWithDeepSpeedsSliceMappings() throws IOException {
        Path tag = zero2(Map.of("w", new TorchSize(new long[]{3, 5})), 16, List.of(1L), 1, Map.of("w", fragment(15, 0)));
        try (CheckpointIndex index = Checkpoints.open(tag)) {
            assertThat(index.tensor("w")).isPresent();
        }
        Files.walk(tmp).sorted(java.util.Comparator.reverseOrder()).filter(p -> !p.equals(tmp)).forEach(p -> p.toFile().delete());
        assertRejected(zero2(Map.of("w", new TorchSize(new long[]{3, 5})), 16, List.of(1L), 1, Map.of("w", fragment(15, 1))),
                "rank 0", "param_slice_mappings places w at start 1");
    }

    @Test
    void overflowingShape() throws IOException {
        assertRejected(zero2(Map.of("w", new TorchSize(new long[]{1L << 40, 1L << 40})), 16, List.of(1L), 0), "overflow");
    }

    @Test
    void shapeThatIsNotAShape() throws IOException {
        assertRejected(zero2(Map.of("w", "ten by ten"), 16, List.of(1L), 0), "param_shapes[w] is not a shape", "rank 0");
    }

    @Test
    void impossibleWorldSizes() throws IOException {
        assertRejected(zero2(Map.of("w", new TorchSize(new long[]{4})), 4, List.of(0L), 0), "partition_count 0");
        Files.walk(tmp).sorted(java.util.Comparator.reverseOrder()).filter(p -> !p.equals(tmp)).forEach(p -> p.toFile().delete());
        // A world size of 3 with one rank file: ranks 1 and 2 are missing, and the error names the first.
        assertRejected(zero2(Map.of("w", new TorchSize(new long[]{4})), 4, List.of(3L), 0), "rank 1", "missing", "world size 3");
    }
}
