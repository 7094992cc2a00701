package ckpt.convert.exec;

import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.OutputTensor;
import ckpt.format.Writeback;
import ckpt.format.torchsave.TorchSaveWriter;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --format pytorch}: one torch.save file holding {@code {"model_state_dict": {name: tensor},
 * "model_config": {...}}}, laid out before any tensor is written.
 */
final class TorchSaveTarget implements PartWriter {
    private final TorchSaveWriter writer;
    private final Map<String, TorchSaveWriter.TensorRecord> records = new HashMap<>();
    private final Path file;
    private final Share share;
    private final List<PartRegion> written = new ArrayList<>();
    private final Writeback writeback;

    TorchSaveTarget(Path file, ConversionPlan plan, Map<String, Object> modelConfig) throws IOException {
        this(file, plan, modelConfig, Share.WHOLE, Writeback.configured());
    }

    /**
     * Parts and the finishing process open the one shared file and lay it out identically; a part writes its
     * tensors' records (the small records too: identical bytes), the finish writes the local headers and central
     * directory with the CRCs the parts recorded. {@code writeback} (closed with this target) flushes the file while
     * it is written.
     */
    TorchSaveTarget(Path file, ConversionPlan plan, Map<String, Object> modelConfig, Share share, Writeback writeback) throws IOException {
        this.file = file;
        this.share = share;
        this.writeback = writeback;
        writer = share.kind() == Share.Kind.WHOLE ? TorchSaveWriter.create(file, writeback) : TorchSaveWriter.openShared(file, writeback);
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
        if (share.isPart()) writer.presize();
    }

    @Override
    public void write(OutputTensor t, long from, MemorySegment bytes) throws IOException {
        if (!share.writes(t.name())) throw new IllegalStateException(t.name() + " is not in this process's part");
        writer.write(records.get(t.name()), from, bytes);
    }

    @Override
    public boolean needsCrc32() {
        return true; // zip records carry one
    }

    /** Called by the executor's workers, once per tensor: records the CRC and what this part wrote. */
    @Override
    public synchronized void complete(OutputTensor t, long crc32) {
        TorchSaveWriter.TensorRecord r = records.get(t.name());
        writer.complete(r, crc32);
        written.add(new PartRegion(t.name(), file.getFileName().toString(), writer.offset(r), r.byteSize(), false, crc32));
    }

    @Override
    public List<PartRegion> completePart() throws IOException {
        writer.force();
        return List.copyOf(written);
    }

    /** Every record's CRC-32 comes from the part that wrote it; its offset and size must be this layout's. */
    @Override
    public void acceptParts(List<PartRegion> regions) {
        for (PartRegion p : regions) {
            TorchSaveWriter.TensorRecord r = records.get(p.unit());
            if (r == null || writer.offset(r) != p.offset() || r.byteSize() != p.length() || p.crc32() < 0)
                throw new IllegalStateException("part record " + p + " does not match the planned layout");
            writer.complete(r, p.crc32());
        }
    }

    @Override
    public List<String> finish() throws IOException {
        if (share.isPart()) throw new IllegalStateException("a part does not write the central directory");
        writer.finish();
        return List.of(Converter.MODEL_PT);
    }

    @Override
    public void close() throws IOException {
        writeback.close(); // no flush of a closed channel
        writer.close();
    }
}
