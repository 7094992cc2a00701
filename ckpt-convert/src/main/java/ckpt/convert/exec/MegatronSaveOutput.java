package ckpt.convert.exec;

import ckpt.convert.plan.OutputTensor;
import ckpt.format.dcp.DcpWriter;
import ckpt.format.torchsave.TorchSaveWriter;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A Megatron-core {@code torch_dist} save dir as {@code ckpt reshard} writes it: {@code latest_checkpointed_iteration.txt}
 * naming the source's iteration, and that {@code iter_*} (or {@code release}) directory with one
 * {@code __<rank>_0.distcp} per rank holding the chunks that rank owns, {@code .metadata}, the source's
 * {@code metadata.json}, and the common state — the {@code common_state/shard_0_1} item (core ≥ 0.19) or
 * {@code common.pt} (core ≤ 0.18) — followed by the source's ShardedObjects copied byte for byte. An appending writer
 * over {@link DcpWriter} (tensors in plan order); the import's positioned {@link MegatronOutput} lays out a
 * {@code release} save from an HF plan instead.
 */
public final class MegatronSaveOutput implements OutputWriter.Appending {
    static final String TRACKER = "latest_checkpointed_iteration.txt";

    /** A ShardedObject's saved bytes ({@code torch.save} of its value), copied verbatim into rank {@code rank}'s file. */
    public record RawItem(String key, int rank, byte[] payload) {
    }

    /**
     * Where the save goes: iteration directory name ({@code iter_0000004}, {@code release}), the tracker's text, the
     * {@code metadata.json} bytes, and whether the common state is a {@code common.pt} file (core ≤ 0.18) rather than
     * the {@code common_state/shard_0_1} item.
     */
    public record Layout(String iteration, String tracker, byte[] metadataJson, boolean commonPt) {
    }

    private final Path dir;
    private final Layout layout;
    private final DcpWriter dcp;

    /** A save with the given common state (a pickle value tree) and verbatim items; tensors follow through {@link #write}. */
    public MegatronSaveOutput(Path dir, Layout layout, Object common, List<RawItem> items) throws IOException {
        this.dir = dir;
        this.layout = layout;
        Path iter = dir.resolve(layout.iteration());
        this.dcp = DcpWriter.create(iter);
        // torch writes a rank's bytes items before its tensors
        if (layout.commonPt()) {
            try (FileChannel ch = FileChannel.open(iter.resolve("common.pt"), StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                long n = TorchSaveWriter.writeObject(iter.resolve("common.pt"), ch, 0, common);
                ch.truncate(n);
                ch.force(true);
            }
        } else {
            dcp.addObject("common_state/shard_0_1", 0, List.of(common));
        }
        for (RawItem it : items) dcp.addBytes(it.key(), it.rank(), it.payload());
    }

    @Override
    public void write(OutputTensor t, Fill fill) throws IOException {
        OutputTensor.Chunk c = t.chunk();
        if (c == null) throw new IllegalArgumentException(t.name() + ": a Megatron output tensor needs a chunk placement");
        dcp.addTensorChunk(c.key(), t.dtype(), c.globalShape(), c.box(), c.file(), fill::into);
    }

    @Override
    public List<String> finish() throws IOException {
        dcp.finish();
        String it = layout.iteration();
        Files.write(dir.resolve(it).resolve("metadata.json"), layout.metadataJson());
        Files.writeString(dir.resolve(TRACKER), layout.tracker(), StandardCharsets.UTF_8);
        try (var s = Files.list(dir.resolve(it))) {
            List<String> files = new java.util.ArrayList<>(s.map(p -> it + "/" + p.getFileName()).sorted().toList());
            files.add(TRACKER);
            return files;
        }
    }

    @Override
    public void close() throws IOException {
        dcp.close();
    }
}
