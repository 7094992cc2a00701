package ckpt.convert.exec;

import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.OutputTensor;
import ckpt.format.Writeback;
import ckpt.format.safetensors.HfIndexWriter;
import ckpt.format.safetensors.HfShardPlanner;
import ckpt.format.safetensors.SafetensorsWriter;
import ckpt.format.zip.Crc32;

import java.io.IOException;
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
final class SafetensorsTarget implements PartWriter {
    public static final String INDEX = "model.safetensors.index.json";

    private record Slot(Writeback.File file, long offset) {
    }

    /** A shard a part writes: its header's CRC-32 and its tensors in file order, for the file's CRC in the marker. */
    private record PartShard(String file, long length, long headerCrc, long headerLength, List<OutputTensor> tensors) {
    }

    private final Path dir;
    private final Share share;
    private final List<FileChannel> channels = new ArrayList<>();
    /** The shards this process writes, flushed while written. */
    private final List<Writeback.File> shards = new ArrayList<>();
    private final Writeback writeback;
    private final List<PartShard> partShards = new ArrayList<>();
    private final Map<String, Long> tensorCrcs = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<String, Slot> slots = new HashMap<>();
    private final Map<String, String> weightMap = new LinkedHashMap<>();
    private final List<String> files = new ArrayList<>();
    private final long totalSize;
    private final long totalParameters;

    /** One planned shard file: its name, tensors in order, and tensor bytes. */
    record ShardFile(String name, List<String> tensors, long bytes) {
    }

    /** The shard files of {@code plan}, as {@code save_pretrained} assigns them; the units of {@code --part}. */
    static List<ShardFile> shardFiles(ConversionPlan plan, long maxShardSize) {
        List<HfShardPlanner.TensorSize> sizes = new ArrayList<>();
        for (OutputTensor t : plan.tensors()) sizes.add(new HfShardPlanner.TensorSize(t.name(), t.byteSize()));
        HfShardPlanner.Plan shards = HfShardPlanner.plan(sizes, maxShardSize);
        int n = shards.shards().size();
        Map<String, Long> bytes = new HashMap<>();
        for (OutputTensor t : plan.tensors()) bytes.put(t.name(), t.byteSize());
        List<ShardFile> out = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            List<String> names = shards.shards().get(k).names();
            long b = 0;
            for (String name : names) b += bytes.get(name);
            out.add(new ShardFile(String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", k + 1, n), names, b));
        }
        return out;
    }

    SafetensorsTarget(Path dir, ConversionPlan plan, long maxShardSize) throws IOException {
        this(dir, plan, maxShardSize, Share.WHOLE, Writeback.configured());
    }

    /**
     * Lays out every shard; creates and sizes those {@code share} writes (a part re-run truncates its own files, so
     * it starts clean), and only names the others. {@code writeback} (closed with this target) flushes them while
     * they are written.
     */
    SafetensorsTarget(Path dir, ConversionPlan plan, long maxShardSize, Share share, Writeback writeback) throws IOException {
        this.dir = dir;
        this.share = share;
        this.writeback = writeback;
        Map<String, OutputTensor> byName = new HashMap<>();
        for (OutputTensor t : plan.tensors()) byName.put(t.name(), t);
        long total = 0;
        for (ShardFile shard : shardFiles(plan, maxShardSize)) {
            String fileName = shard.name();
            total += shard.bytes();
            files.add(fileName);
            SafetensorsWriter w = new SafetensorsWriter(Map.of("format", "pt"));
            for (String name : shard.tensors()) w.add(name, byName.get(name).dtype(), byName.get(name).shape());
            SafetensorsWriter.Layout layout = w.layout();
            for (String name : shard.tensors()) weightMap.put(name, fileName);
            if (!share.writes(fileName)) continue;
            FileChannel ch = share.isPart()
                    ? FileChannel.open(dir.resolve(fileName), StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.READ, StandardOpenOption.WRITE)
                    : FileChannel.open(dir.resolve(fileName), StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
            channels.add(ch);
            Writeback.File tracked = writeback.track(dir.resolve(fileName), ch);
            shards.add(tracked);
            if (share.isPart()) {
                java.util.zip.CRC32 crc = new java.util.zip.CRC32();
                crc.update(layout.headerBytes());
                List<OutputTensor> inFileOrder = new ArrayList<>();
                for (String name : layout.absoluteOffsets().keySet()) inFileOrder.add(byName.get(name));
                partShards.add(new PartShard(fileName, layout.fileLength(), crc.getValue(), layout.headerBytes().length, inFileOrder));
            }
            ByteBuffer header = ByteBuffer.wrap(layout.headerBytes());
            long at = 0;
            while (header.hasRemaining()) at += ch.write(header, at);
            if (layout.fileLength() > at) ch.write(ByteBuffer.wrap(new byte[1]), layout.fileLength() - 1); // sized (sparse) up front
            for (var e : layout.absoluteOffsets().entrySet()) slots.put(e.getKey(), new Slot(tracked, e.getValue()));
        }
        this.totalSize = total;
        this.totalParameters = plan.totalElements();
    }

    @Override
    public void write(OutputTensor t, long from, MemorySegment bytes) throws IOException {
        long length = bytes.byteSize();
        if (from < 0 || from + length > t.byteSize())
            throw new IllegalArgumentException("[" + from + ", " + (from + length) + ") outside the " + t.byteSize() + " bytes of " + t.name());
        Slot s = slots.get(t.name());
        if (s == null) throw new IllegalStateException(t.name() + " is not in a shard this process writes");
        s.file().write(bytes, s.offset() + from);
    }

    /** A part's tensors' CRC-32s (from the bytes as they were written), for the whole shard's CRC. */
    @Override
    public boolean needsCrc32() {
        return share.isPart();
    }

    @Override
    public void complete(OutputTensor t, long crc32) {
        if (share.isPart()) tensorCrcs.put(t.name(), crc32);
    }

    /**
     * A part's shards, flushed, each with its CRC-32: the header's combined with its tensors' in file order (the data
     * follow the header back to back), so no byte is read again.
     */
    @Override
    public List<PartRegion> completePart() throws IOException {
        for (Writeback.File f : shards) f.force();
        List<PartRegion> out = new ArrayList<>();
        for (PartShard f : partShards) {
            long crc = f.headerCrc(), at = f.headerLength();
            for (OutputTensor t : f.tensors()) {
                Long c = tensorCrcs.get(t.name());
                if (c == null && t.byteSize() > 0) throw new IllegalStateException(t.name() + " was never completed");
                crc = Crc32.combine(crc, c == null ? 0 : c, t.byteSize());
                at += t.byteSize();
            }
            if (at != f.length()) throw new IllegalStateException(f.file() + ": tensors do not fill the planned length");
            out.add(new PartRegion(f.file(), f.file(), 0, f.length(), true, crc));
        }
        return out;
    }

    /** The shards' sizes were checked against the parts' records; safetensors keeps no checksums to carry over. */
    @Override
    public void acceptParts(List<PartRegion> regions) {
    }

    /** Flushes the shards and writes the index; returns the file names written. */
    @Override
    public List<String> finish() throws IOException {
        if (share.isPart()) throw new IllegalStateException("a part does not write the index");
        for (Writeback.File f : shards) f.force();
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("total_parameters", totalParameters);
        Files.write(dir.resolve(INDEX), HfIndexWriter.render(totalSize, weightMap, extra));
        List<String> out = new ArrayList<>(files);
        out.add(INDEX);
        return out;
    }

    @Override
    public void close() throws IOException {
        writeback.close(); // no flush of a closed channel
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
