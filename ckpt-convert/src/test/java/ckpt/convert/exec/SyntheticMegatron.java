package ckpt.convert.exec;

import ckpt.convert.index.InMemorySource;
import ckpt.convert.index.CheckpointFormat;
import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.GlobalTensor;
import ckpt.convert.index.TensorPiece;
import ckpt.format.megatron.KeyCategory;
import ckpt.format.megatron.MegatronArgs;
import ckpt.format.megatron.ModelConfig;
import ckpt.format.pickle.PyDict;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small Megatron-like index in memory: fp32 global tensors whose element {@code k} (row-major flat index) holds
 * {@code id·100000 + k}, each stored as two pieces split along its last axis (like row-parallel TP shards), so
 * assembly is exercised. Expected values are then plain arithmetic.
 */
final class SyntheticMegatron {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Arena arena = Arena.ofAuto();
    final Map<String, Integer> ids = new LinkedHashMap<>();
    final Map<String, long[]> shapes = new LinkedHashMap<>();
    final List<GlobalTensor> tensors = new ArrayList<>();
    final PyDict args = new PyDict();

    SyntheticMegatron arg(String name, Object value) {
        args.put(name, value);
        return this;
    }

    /** Value of element {@code flat} of tensor {@code key}. */
    float value(String key, long flat) {
        return ids.get(key) * 100000f + flat;
    }

    SyntheticMegatron tensor(String key, long... shape) {
        int id = ids.size() + 1;
        ids.put(key, id);
        shapes.put(key, shape);
        int last = shape.length - 1;
        long half = shape[last] / 2;
        List<TensorPiece> pieces = new ArrayList<>();
        for (long[] range : new long[][]{{0, half}, {half, shape[last] - half}}) {
            long[] off = new long[shape.length], size = shape.clone();
            off[last] = range[0];
            size[last] = range[1];
            Box box = new Box(off, size);
            long n = box.numel();
            MemorySegment seg = arena.allocate(n * 4);
            long[] idx = new long[shape.length];
            for (long k = 0; k < n; k++) {
                long rem = k, flat = 0, stride = 1;
                for (int a = shape.length - 1; a >= 0; a--) {
                    idx[a] = rem % size[a] + off[a];
                    rem /= size[a];
                }
                for (int a = shape.length - 1; a >= 0; a--) {
                    flat += idx[a] * stride;
                    stride *= shape[a];
                }
                seg.setAtIndex(F32, k, id * 100000f + flat);
            }
            pieces.add(new TensorPiece(box, new InMemorySource("memory", seg, size)));
        }
        tensors.add(new GlobalTensor(key, DType.FLOAT32, shape, KeyCategory.MODEL_WEIGHT, pieces));
        return this;
    }

    CheckpointIndex index(Path path) {
        MegatronArgs a = new MegatronArgs(args);
        return new CheckpointIndex(path, CheckpointFormat.MEGATRON_TORCH_DIST, "synthetic", 7L, ModelConfig.from(a), null,
                a.toPlainMap(), tensors, List.of(), List.of(), Map.of(), null);
    }
}
