package ckpt.convert.exec;

import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.OutputTensor;
import ckpt.format.safetensors.HfIndexWriter;
import ckpt.format.safetensors.HfShardPlanner;
import ckpt.format.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code --format huggingface} weights: shards assigned like {@code save_pretrained} ({@link HfShardPlanner}),
 * always named {@code model-0000k-of-0000n.safetensors} and listed in {@code model.safetensors.index.json} (also
 * for one shard, which transformers loads the same way). Each shard's header is planned and written up front; a
 * tensor's bytes go into a mapped region at its planned offset.
 */
final class SafetensorsTarget implements OutputWriter {
    public static final String INDEX = "model.safetensors.index.json";

    private record Slot(FileChannel channel, long offset) {
    }

    private final Path dir;
    private final List<FileChannel> channels = new ArrayList<>();
    private final Map<String, Slot> slots = new HashMap<>();
    private final Map<String, String> weightMap = new LinkedHashMap<>();
    private final List<String> files = new ArrayList<>();
    private final long totalSize;
    private final long totalParameters;

    SafetensorsTarget(Path dir, ConversionPlan plan, long maxShardSize) throws IOException {
        this.dir = dir;
        Map<String, OutputTensor> byName = new HashMap<>();
        List<HfShardPlanner.TensorSize> sizes = new ArrayList<>();
        for (OutputTensor t : plan.tensors()) {
            byName.put(t.name(), t);
            sizes.add(new HfShardPlanner.TensorSize(t.name(), t.byteSize()));
        }
        HfShardPlanner.Plan shards = HfShardPlanner.plan(sizes, maxShardSize);
        int n = shards.shards().size();
        for (int k = 0; k < n; k++) {
            HfShardPlanner.Shard shard = shards.shards().get(k);
            String fileName = String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", k + 1, n);
            SafetensorsWriter w = new SafetensorsWriter(Map.of("format", "pt"));
            for (String name : shard.names()) w.add(name, byName.get(name).dtype(), byName.get(name).shape());
            SafetensorsWriter.Layout layout = w.layout();
            FileChannel ch = FileChannel.open(dir.resolve(fileName), StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
            channels.add(ch);
            ByteBuffer header = ByteBuffer.wrap(layout.headerBytes());
            long at = 0;
            while (header.hasRemaining()) at += ch.write(header, at);
            if (layout.fileLength() > at) ch.write(ByteBuffer.wrap(new byte[1]), layout.fileLength() - 1); // sized (sparse) up front
            for (var e : layout.absoluteOffsets().entrySet()) {
                slots.put(e.getKey(), new Slot(ch, e.getValue()));
                weightMap.put(e.getKey(), fileName);
            }
            files.add(fileName);
        }
        this.totalSize = shards.totalSize();
        this.totalParameters = plan.totalElements();
    }

    @Override
    public void write(OutputTensor t, Fill fill) throws IOException {
        if (t.byteSize() == 0) return;
        Slot s = slots.get(t.name());
        try (Arena arena = Arena.ofConfined()) {
            fill.into(s.channel().map(FileChannel.MapMode.READ_WRITE, s.offset(), t.byteSize(), arena));
        }
    }

    /** Flushes the shards and writes the index; returns the file names written. */
    @Override
    public List<String> finish() throws IOException {
        for (FileChannel ch : channels) ch.force(true);
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("total_parameters", totalParameters);
        Files.write(dir.resolve(INDEX), HfIndexWriter.render(totalSize, weightMap, extra));
        List<String> out = new ArrayList<>(files);
        out.add(INDEX);
        return out;
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (FileChannel ch : channels) {
            try {
                ch.close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
