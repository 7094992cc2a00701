package ckpt.convert.exec;

import ckpt.convert.mapping.imports.MegatronImport;
import ckpt.convert.plan.OutputTensor;
import ckpt.format.dcp.DcpWriter;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyGlobal;
import ckpt.format.pickle.PyObject;
import ckpt.format.pickle.PyTuple;

import java.io.IOException;
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
 * optimizer, scheduler and RNG state for it.
 */
final class MegatronOutput implements OutputWriter {
    static final String TRACKER = "latest_checkpointed_iteration.txt";
    static final String RELEASE = "release";

    private final Path dir;
    private final DcpWriter dcp;

    MegatronOutput(Path dir, MegatronImport plan) throws IOException {
        this.dir = dir;
        Path iter = dir.resolve(RELEASE);
        this.dcp = DcpWriter.create(iter);
        // torch writes a rank's bytes items before its tensors
        dcp.addObject("common_state/shard_0_1", 0, List.of(commonState(plan.args())));
        for (MegatronImport.BytesItem it : plan.items()) dcp.addObject(it.key(), it.rank(), it.value());
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
        Files.writeString(dir.resolve(RELEASE).resolve("metadata.json"), "{\"sharded_backend\": \"torch_dist\", \"sharded_backend_version\": 1}",
                StandardCharsets.UTF_8);
        Files.writeString(dir.resolve(TRACKER), RELEASE, StandardCharsets.UTF_8);
        try (var s = Files.list(dir.resolve(RELEASE))) {
            List<String> files = new java.util.ArrayList<>(s.map(p -> RELEASE + "/" + p.getFileName()).sorted().toList());
            files.add(TRACKER);
            return files;
        }
    }

    @Override
    public void close() throws IOException {
        dcp.close();
    }
}
