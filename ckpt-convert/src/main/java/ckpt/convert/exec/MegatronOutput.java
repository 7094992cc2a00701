package ckpt.convert.exec;

import ckpt.convert.mapping.imports.MegatronImport;
import ckpt.convert.plan.OutputTensor;
import ckpt.format.Writeback;
import ckpt.format.dcp.DcpLayout;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyGlobal;
import ckpt.format.pickle.PyObject;
import ckpt.format.pickle.PyTuple;
import ckpt.format.torchsave.TorchSaveWriter;
import ckpt.format.zip.Crc32;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.zip.CRC32;

/**
 * A Megatron-core {@code torch_dist} save dir ({@link MegatronSave}) written by one process or in parts: what
 * {@code convert --format megatron} imports (a {@code release} save, see {@link #save(MegatronImport, String)}) and what
 * {@code reshard} writes (the source's {@code iter_*} save).
 *
 * <p>The rank files are laid out from the plan before any byte moves ({@link DcpLayout}): every chunk is a
 * self-contained {@code torch.save} archive at a fixed offset, so workers fill chunks in place and in parallel, and
 * the parts of {@code --part} write disjoint items of the same files ({@link Share}); {@code .metadata} and the small
 * files follow from the layout alone, so {@code --finish} writes them without reading the data. Its
 * {@code storage_meta} names the published iteration dir and the save's plan-derived id, so the same job gives the
 * same bytes in one process or in parts.
 */
public final class MegatronOutput implements PartWriter {
    static final String TRACKER = "latest_checkpointed_iteration.txt";
    static final String RELEASE = "release";
    static final String COMMON_PT = "common.pt";

    private final Path dir;
    private final Share share;
    private final MegatronSave save;
    private final DcpLayout layout;
    private final String checkpointId;
    private final Map<String, DcpLayout.Item> byUnit = new HashMap<>();
    /** The rank files this process writes, by name, flushed while written. */
    private final Map<String, Writeback.File> files = new HashMap<>();
    private final Writeback writeback;
    /** The chunks this process writes, by planned tensor name (their archives are written whole once filled). */
    private final Map<String, DcpLayout.Chunk> mine = new HashMap<>();
    private final List<PartRegion> written = new ArrayList<>();

    /** @param target the published output dir: its iteration dir is the save's {@code checkpoint_id} */
    public MegatronOutput(Path dir, MegatronSave save, Share share, Path target) throws IOException {
        this(dir, save, share, target, Writeback.configured());
    }

    /** @param writeback flushes the rank files while they are written; closed with this output */
    public MegatronOutput(Path dir, MegatronSave save, Share share, Path target, Writeback writeback) throws IOException {
        this.dir = dir;
        this.writeback = writeback;
        this.share = share;
        this.save = save;
        this.layout = layout(save);
        this.checkpointId = target.toAbsolutePath().normalize().resolve(save.iteration()).toString();
        Path iter = dir.resolve(save.iteration());
        Files.createDirectories(iter);
        try {
            List<DcpLayout.Item> items = layout.items();
            List<String> names = unitNames(layout, save);
            for (int i = 0; i < items.size(); i++) {
                DcpLayout.Item it = items.get(i);
                String unit = names.get(i);
                byUnit.put(unit, it);
                if (!share.writes(unit)) continue;
                FileChannel ch = channel(iter, it.at().relativePath());
                switch (it) {
                    case DcpLayout.Bytes b -> {
                        ByteBuffer buf = ByteBuffer.wrap(b.archive());
                        long at = b.at().offset();
                        while (buf.hasRemaining()) at += ch.write(buf, at);
                        written.add(region(unit, b, crcOf(b.archive())));
                    }
                    case DcpLayout.Chunk c -> mine.put(unit, c);
                }
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * The {@code release} save of an import: the common state item first (core ≥ 0.19: {@code args} Namespace,
     * {@code checkpoint_version} 3.0, {@code iteration} 0 — what {@code --finetune} and fresh runs load; Megatron
     * skips optimizer, scheduler and RNG state for a release), then the import's bytes items, then its tensors.
     *
     * @param planId what identifies the plan (its fingerprint): the save id is derived from it
     */
    static MegatronSave save(MegatronImport plan, String planId) throws IOException {
        List<MegatronSave.RawItem> items = new ArrayList<>();
        // a ShardedObject's value is saved in a one-item list
        items.add(new MegatronSave.RawItem("common_state/shard_0_1", 0, TorchSaveWriter.objectArchive(List.of(commonState(plan.args())))));
        for (MegatronImport.BytesItem it : plan.items())
            items.add(new MegatronSave.RawItem(it.key(), it.rank(), TorchSaveWriter.objectArchive(it.value())));
        return new MegatronSave(RELEASE, RELEASE, "{\"sharded_backend\": \"torch_dist\", \"sharded_backend_version\": 1}"
                .getBytes(StandardCharsets.UTF_8), null, items, plan.plan(), saveId("ckpt convert --format megatron " + planId));
    }

    /** A save id (UUID form, as torch's) derived from what identifies the job. */
    public static String saveId(String seed) {
        return UUID.nameUUIDFromBytes(seed.getBytes(StandardCharsets.UTF_8)).toString();
    }

    /** The save's items: the bytes items, then every tensor chunk in plan order. */
    static DcpLayout layout(MegatronSave save) {
        DcpLayout l = new DcpLayout();
        for (MegatronSave.RawItem it : save.items()) l.addBytes(it.key(), it.rank(), it.payload());
        for (OutputTensor t : save.plan().tensors()) {
            OutputTensor.Chunk c = t.chunk();
            if (c == null) throw new IllegalArgumentException(t.name() + ": a Megatron output tensor needs a chunk placement");
            l.addTensorChunk(c.key(), t.dtype(), c.globalShape(), c.box(), c.file());
        }
        return l;
    }

    /**
     * The units of {@code --part}: every item of every rank file (a chunk is named as its planned tensor, a bytes
     * item by its key), in file and offset order, so that a part writes contiguous ranges of few files.
     */
    public static List<PartRun.Unit> units(MegatronSave save) {
        DcpLayout l = layout(save);
        List<String> names = unitNames(l, save);
        List<PartRun.Unit> out = new ArrayList<>(names.size());
        List<DcpLayout.Item> items = l.items();
        for (int i = 0; i < items.size(); i++) {
            DcpLayout.Item it = items.get(i);
            out.add(new PartRun.Unit(names.get(i), it instanceof DcpLayout.Chunk ? List.of(names.get(i)) : List.of(), it.at().length()));
        }
        // file, then offset: a part writes contiguous ranges of few files
        Map<String, DcpLayout.Item> at = new HashMap<>();
        for (int i = 0; i < items.size(); i++) at.put(names.get(i), items.get(i));
        out.sort(Comparator.comparingInt((PartRun.Unit u) -> at.get(u.name()).rank()).thenComparingLong(u -> at.get(u.name()).at().offset()));
        return out;
    }

    /**
     * Each item's unit name, in layout order: a bytes item's key, a chunk's planned tensor name (chunk k of the layout
     * is tensor k of the plan: they are added in plan order).
     */
    private static List<String> unitNames(DcpLayout l, MegatronSave save) {
        List<String> out = new ArrayList<>();
        int k = 0;
        for (DcpLayout.Item it : l.items())
            out.add(it instanceof DcpLayout.Bytes b ? b.fqn() : save.plan().tensors().get(k++).name());
        return out;
    }

    /** What core ≥ 0.19 saves as the common state of a weights-only save. */
    static PyDict commonState(Map<String, Object> args) {
        PyDict a = new PyDict();
        args.forEach(a::put);
        PyObject ns = new PyObject(new PyGlobal("argparse", "Namespace"), PyTuple.EMPTY, null, PyObject.Origin.NEWOBJ);
        ns.setState(a);
        PyDict common = new PyDict();
        common.put("args", ns);
        common.put("checkpoint_version", 3.0);
        common.put("iteration", 0L);
        common.put("num_floating_point_operations_so_far", 0.0);
        PyDict content = new PyDict();
        content.put("singleton_local_shards", false);
        content.put("chained_optim_avoid_prefix", true);
        common.put("content_metadata", content);
        return common;
    }

    /**
     * A rank file this process writes into, sized to its planned length first (a mapping that grew the file would
     * cut it at its own end; sizing to the same length again, by another part, changes no byte).
     */
    private FileChannel channel(Path iter, String name) throws IOException {
        Writeback.File open = files.get(name);
        if (open != null) return open.channel();
        Path f = iter.resolve(name);
        FileChannel ch = share.isPart() ? FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)
                : FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
        files.put(name, writeback.track(f, ch));
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(layout.fileLengths().get(name));
        }
        return ch;
    }

    @Override
    public void write(OutputTensor t, long from, MemorySegment bytes) throws IOException {
        DcpLayout.Chunk c = mine.get(t.name());
        if (c == null) throw new IllegalStateException(t.name() + " is not in this process's part");
        long length = bytes.byteSize();
        if (from < 0 || from + length > t.byteSize())
            throw new IllegalArgumentException("[" + from + ", " + (from + length) + ") outside the " + t.byteSize() + " bytes of " + t.name());
        files.get(c.at().relativePath()).write(bytes, c.dataOffset() + from);
    }

    @Override
    public boolean needsCrc32() {
        return true; // the chunk's zip record carries one
    }

    /**
     * The chunk's data are written: the rest of its archive is written around them (records before the data, data
     * record header, {@code version}, serialization id, central directory), and the whole archive's CRC-32 recorded
     * for the part's marker — the data's CRC combined with that of the few hundred bytes around it, read back.
     */
    @Override
    public void complete(OutputTensor t, long crc32) throws IOException {
        DcpLayout.Chunk c = mine.get(t.name());
        FileChannel ch = files.get(c.at().relativePath()).channel();
        TorchSaveWriter w = TorchSaveWriter.at(dir.resolve(save.iteration()).resolve(c.at().relativePath()), ch, c.at().offset());
        TorchSaveWriter.TensorRecord r = w.tensor(c.dtype(), c.box().sizes());
        w.writeStructure(r);
        if (w.offset(r) != c.dataOffset()) throw new IllegalStateException(t.name() + ": archive layout differs from the plan");
        w.complete(r, crc32);
        long start = c.at().offset(), end = start + w.finish(), dataEnd = c.dataOffset() + t.byteSize();
        long crc = Crc32.combine(crcOf(ch, start, c.dataOffset() - start), crc32, t.byteSize());
        crc = Crc32.combine(crc, crcOf(ch, dataEnd, end - dataEnd), end - dataEnd);
        synchronized (written) {
            written.add(region(t.name(), c, crc));
        }
    }

    private PartRegion region(String unit, DcpLayout.Item it, long crc) {
        return new PartRegion(unit, save.iteration() + "/" + it.at().relativePath(), it.at().offset(), it.at().length(), false, crc);
    }

    private static long crcOf(byte[] b) {
        CRC32 c = new CRC32();
        c.update(b);
        return c.getValue();
    }

    private static long crcOf(FileChannel ch, long at, long length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(length));
        while (b.hasRemaining()) {
            if (ch.read(b, at + b.position()) < 0) throw new IOException("unexpected end of file at " + (at + b.position()));
        }
        CRC32 c = new CRC32();
        c.update(b.flip());
        return c.getValue();
    }

    @Override
    public List<PartRegion> completePart() throws IOException {
        for (Writeback.File f : files.values()) f.force();
        synchronized (written) {
            return List.copyOf(written);
        }
    }

    /** The parts' items must sit where this layout puts them; {@code .metadata} then follows from the layout. */
    @Override
    public void acceptParts(List<PartRegion> regions) {
        for (PartRegion p : regions) {
            DcpLayout.Item it = byUnit.get(p.unit());
            if (it == null || !p.file().equals(save.iteration() + "/" + it.at().relativePath()) || p.offset() != it.at().offset()
                    || p.length() != it.at().length())
                throw new IllegalStateException("part record " + p + " does not match the planned layout");
        }
    }

    @Override
    public List<String> finish() throws IOException {
        if (share.isPart()) throw new IllegalStateException("a part does not write .metadata");
        for (Writeback.File f : files.values()) f.force();
        String it = save.iteration();
        Path iter = dir.resolve(it);
        if (save.commonPt() != null) Files.write(iter.resolve(COMMON_PT), save.commonPt());
        layout.writeMetadata(iter, checkpointId, save.saveId(), writeback); // --no-fsync: not forced
        Files.write(iter.resolve("metadata.json"), save.metadataJson());
        Files.writeString(dir.resolve(TRACKER), save.tracker(), StandardCharsets.UTF_8);
        try (var s = Files.list(iter)) {
            List<String> files = new ArrayList<>(s.map(p -> it + "/" + p.getFileName()).sorted().toList());
            files.add(TRACKER);
            return files;
        }
    }

    @Override
    public void close() throws IOException {
        writeback.close(); // no flush of a closed channel
        IOException first = null;
        for (Writeback.File f : files.values()) {
            try {
                f.channel().close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        files.clear();
        if (first != null) throw first;
    }
}
