package ckpt.format.megatron;

import ckpt.format.RegularFiles;
import ckpt.format.FormatException;
import ckpt.format.dcp.DcpCheckpoint;
import ckpt.format.pickle.PyDict;
import ckpt.format.torchsave.TorchSaveArchive;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * One Megatron {@code torch_dist} iteration directory (FORMATS.md §4.2): the DCP checkpoint, {@code metadata.json},
 * and the common state — {@code common.pt} up to core 0.18, the {@code common_state/shard_0_1} bytes item from 0.19.
 */
public final class MegatronCheckpoint implements AutoCloseable, ckpt.format.MappedSource, ckpt.format.RecordChecks {
    public static final String COMMON_PT = "common.pt";
    public static final String COMMON_ITEM = "common_state/shard_0_1";

    private final Path dir;
    private final CheckpointingConfig config;
    private final DcpCheckpoint dcp;
    private final PyDict common;
    private final String commonSource;
    private final MegatronArgs args;

    private MegatronCheckpoint(Path dir, CheckpointingConfig config, DcpCheckpoint dcp, PyDict common, String commonSource) {
        this.dir = dir;
        this.config = config;
        this.dcp = dcp;
        this.common = common;
        this.commonSource = commonSource;
        this.args = MegatronArgs.of(common.get("args"));
    }

    public static boolean isTorchDist(Path dir) {
        return Files.isRegularFile(dir.resolve(CheckpointingConfig.FILE));
    }

    public static MegatronCheckpoint open(Path dir) {
        CheckpointingConfig config = CheckpointingConfig.read(dir);
        if (!config.shardedBackend().equals("torch_dist")) {
            throw new FormatException(dir.resolve(CheckpointingConfig.FILE), "sharded backend '" + config.shardedBackend()
                    + "' is not supported (ckpt reads torch_dist; zarr was removed in Megatron core 0.16 — re-save with --ckpt-format torch_dist)");
        }
        DcpCheckpoint dcp = DcpCheckpoint.open(dir);
        try {
            PyDict common;
            String source;
            Path commonPt = dir.resolve(COMMON_PT);
            if (Files.isRegularFile(commonPt)) {
                common = readCommonPt(commonPt);
                source = COMMON_PT;
            } else if (dcp.metadata().bytesItems().contains(COMMON_ITEM)) {
                String file = dcp.metadata().storageOf(COMMON_ITEM).relativePath();
                if (Files.isRegularFile(dir.resolve(file))) {
                    common = fromShardedObject(dcp, COMMON_ITEM);
                    source = COMMON_ITEM;
                } else {
                    // A metadata-only copy (data files deleted or not yet transferred): still inspectable.
                    common = new PyDict();
                    source = COMMON_ITEM + " (unavailable: " + file + " is absent)";
                }
            } else {
                throw new FormatException(dir, "no common state: neither common.pt nor the common_state/shard_0_1 item (incomplete save?)");
            }
            return new MegatronCheckpoint(dir, config, dcp, common, source);
        } catch (RuntimeException e) {
            dcp.close();
            throw e;
        }
    }

    private static PyDict readCommonPt(Path file) {
        try (Arena arena = Arena.ofConfined(); FileChannel ch = RegularFiles.openRead(file)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            Object root = TorchSaveArchive.open(file, seg).root();
            if (!(root instanceof PyDict d)) throw new FormatException(file, "common state is not a dict");
            return d;
        } catch (IOException e) {
            throw new FormatException(file, "cannot read: " + e.getMessage(), e);
        }
    }

    private static PyDict fromShardedObject(DcpCheckpoint dcp, String key) {
        Object payload = dcp.readObject(key);
        // ShardedObject payloads are torch.save([obj, …]): a list of the local objects (FORMATS.md §4.3).
        if (payload instanceof List<?> l && l.size() == 1 && l.getFirst() instanceof PyDict d) return d;
        if (payload instanceof PyDict d) return d;
        throw FormatException.atKey(dcp.dir(), key, "common state item is not a one-element list of a dict");
    }

    public Path dir() {
        return dir;
    }

    public CheckpointingConfig config() {
        return config;
    }

    public DcpCheckpoint dcp() {
        return dcp;
    }

    /** The common (non-sharded) state dict: args, iteration, checkpoint_version, scheduler, … */
    public PyDict common() {
        return common;
    }

    /** {@code common.pt} or {@code common_state/shard_0_1}. */
    public String commonSource() {
        return commonSource;
    }

    public MegatronArgs args() {
        return args;
    }

    public ModelConfig model() {
        return ModelConfig.from(args);
    }

    public ParallelLayout parallelism() {
        return ParallelLayout.from(args, optimizerFormat());
    }

    /** From the common state, else from the directory name ({@code iter_0000010} → 10, {@code release} → 0). */
    public Long iteration() {
        if (common.get("iteration") instanceof Long l) return l;
        String n = dir.getFileName() == null ? "" : dir.getFileName().toString();
        if (n.matches("iter_\\d{1,18}")) return Long.parseLong(n.substring(5));
        return n.equals("release") ? 0L : null;
    }

    public Object checkpointVersion() {
        return common.get("checkpoint_version");
    }

    /** The distributed optimizer's sharding type as the common state records it, else guessed from the keys. */
    public String optimizerFormat() {
        if (common.get("content_metadata") instanceof PyDict cm && cm.get("distrib_optim_sharding_type") instanceof String s)
            return s;
        if (common.get("optimizer") instanceof PyDict o && o.get("param_state_sharding_type") instanceof String s) return s;
        for (String k : dcp.metadata().tensors().keySet()) {
            if (k.contains("optimizer.distributed.")) return "dp_reshardable";
            if (k.contains("optimizer.state.fp32_param.")) return "fully_sharded_model_space";
            if (k.contains("optimizer.state.param.")) return "fully_reshardable";
        }
        for (String k : dcp.metadata().bytesItems())
            if (k.contains("optimizer.distributed.") && k.contains(".param_state/")) return "dp_zero_gather_scatter";
        return null;
    }

    /** A human description of the writer generation, from the common-state location and metadata.json fields. */
    public String era() {
        if (commonSource.startsWith(COMMON_ITEM)) return "Megatron core >= 0.19 (common state in DCP)";
        return config.commonBackend() != null ? "Megatron core <= 0.18 (common.pt)" : "Megatron core (common.pt)";
    }

    @Override
    public void releaseMappings() {
        dcp.releaseMappings();
    }

    @Override
    public void checkRecords(boolean on) {
        dcp.checkRecords(on);
    }

    @Override
    public void close() {
        dcp.close();
    }
}
