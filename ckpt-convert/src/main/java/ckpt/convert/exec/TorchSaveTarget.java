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
import java.util.List;
import java.util.Map;

/**
 * {@code --format pytorch}: one torch.save file holding {@code {"model_state_dict": {name: tensor},
 * "model_config": {...}}}, laid out before any tensor is written.
 */
final class TorchSaveTarget implements OutputWriter {
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
    public void write(OutputTensor t, Fill fill) throws IOException {
        TorchSaveWriter.TensorRecord r = records.get(t.name());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment region = writer.map(r, arena);
            fill.into(region);
            writer.complete(r, region);
        }
    }

    @Override
    public List<String> finish() throws IOException {
        writer.finish();
        return List.of(Converter.MODEL_PT);
    }

    @Override
    public void close() throws IOException {
        writer.close();
    }
}
