package ckpt.convert.exec;

import ckpt.convert.mapping.imports.MegatronImport;
import ckpt.convert.plan.OutputTensor;
import ckpt.format.dcp.DcpWriter;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyGlobal;
import ckpt.format.pickle.PyObject;
import ckpt.format.pickle.PyTuple;

import ckpt.format.torchsave.TorchSaveWriter;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code --format megatron}: a Megatron-core {@code torch_dist} save dir — {@code latest_checkpointed_iteration.txt}
 * naming {@code release}, and {@code release/} with one {@code __<rank>_0.distcp} per rank (each holding the chunks
 * that rank owns), {@code .metadata}, {@code metadata.json}, and the common state as the {@code common_state/shard_0_1}
 * bytes item (core ≥ 0.19): {@code args} Namespace, {@code checkpoint_version} 3.0, {@code iteration} 0. A
 * {@code release} checkpoint is what {@code --finetune} and fresh runs load: Megatron resets the iteration and skips
 * optimizer, scheduler and RNG state for it. {@code ckpt reshard} writes the same layout under the source's iteration
 * and tracker, with the source's common state and ShardedObject items.
 */
public final class MegatronOutput implements OutputWriter.Appending {
    static final String TRACKER = "latest_checkpointed_iteration.txt";
    static final String RELEASE = "release";
    /** What Megatron-core writes as {@code metadata.json} of a torch_dist save (its CheckpointingConfig). */
    static final String METADATA_JSON = "{\"sharded_backend\": \"torch_dist\", \"sharded_backend_version\": 1}";

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

    MegatronOutput(Path dir, MegatronImport plan) throws IOException {
        this(dir, new Layout(RELEASE, RELEASE, METADATA_JSON.getBytes(StandardCharsets.UTF_8), false), commonState(plan.args()), List.of());
        for (MegatronImport.BytesItem it : plan.items()) dcp.addObject(it.key(), it.rank(), it.value());
    }

    /**
     * A save with the given common state (a pickle value tree) and verbatim ShardedObject items; tensors follow
     * through {@link #write}.
     */
    public MegatronOutput(Path dir, Layout layout, Object common, List<RawItem> items) throws IOException {
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
