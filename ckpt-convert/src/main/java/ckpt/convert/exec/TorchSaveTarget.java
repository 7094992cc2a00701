package ckpt.convert.exec;

import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.OutputTensor;
import ckpt.format.torchsave.TorchSaveWriter;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code --format pytorch}: one torch.save file holding {@code {"model_state_dict": {name: tensor},
 * "model_config": {...}}}, laid out before any tensor is written.
 */
final class TorchSaveTarget implements PlanExecutor.Target, AutoCloseable {
    private final TorchSaveWriter writer;
    private final Map<String, TorchSaveWriter.TensorRecord> records = new HashMap<>();

    TorchSaveTarget(Path file, ConversionPlan plan, Map<String, Object> modelConfig) throws IOException {
        writer = TorchSaveWriter.create(file);
        Map<String, Object> stateDict = new LinkedHashMap<>();
        for (OutputTensor t : plan.tensors()) {
            TorchSaveWriter.TensorRecord r = writer.tensor(t.dtype(), t.shape());
            records.put(t.name(), r);
            stateDict.put(t.name(), r);
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("model_state_dict", stateDict);
        root.put("model_config", modelConfig);
        writer.writeStructure(root);
    }

    @Override
    public MemorySegment region(OutputTensor t, Arena arena) throws IOException {
        return writer.map(records.get(t.name()), arena);
    }

    @Override
    public void written(OutputTensor t, MemorySegment region) {
        writer.complete(records.get(t.name()), region);
    }

    long finish() throws IOException {
        return writer.finish();
    }

    @Override
    public void close() throws IOException {
        writer.close();
    }
}
