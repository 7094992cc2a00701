package ckpt.convert.reshard;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.FlatViewSource;
import ckpt.convert.index.GlobalTensor;
import ckpt.convert.index.LegacyIndexer;
import ckpt.convert.index.LegacyMerge;
import ckpt.convert.index.TorchSavePieceSource;
import ckpt.format.FormatException;
import ckpt.format.megatron.KeyCategory;
import ckpt.format.megatron.MegatronArgs;
import ckpt.format.megatron.legacy.LegacyIteration;
import ckpt.format.megatron.legacy.LegacyRank;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyTuple;
import ckpt.format.tensor.DType;
import ckpt.format.tensor.Shapes;
import ckpt.format.torchsave.TensorRef;
import ckpt.format.torchsave.TorchSaveArchive;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A legacy Megatron {@code --ckpt-format torch} iteration ({@code mp_rank_*}/{@code model_optim_rng.pt} +
 * {@code distrib_optim.pt}) as a {@link ReshardSource}: the model through {@link LegacyIndexer}, and the distributed
 * optimizer's flat buffers cut back into per-parameter tensors under the keys and global shapes Megatron's
 * {@code fully_reshardable} format uses ({@code optimizer.state.<name>.<model key>}).
 *
 * <p>How a rank's {@code distrib_optim.pt} maps to parameters (docs/FORMATS.md §4.8): it holds, per gradient buffer
 * ({@code gbuf_idx}: the buffers of model chunk 0, then of chunk 1…; within a chunk one buffer per
 * {@code (param dtype, grad dtype)} in order of first use), a flat fp32 tensor per state whose layout
 * {@link CoalescedLayout} rebuilds from the rank's parameters in registration order — the order of the model state
 * dict saved next to it. Each parameter's range, seen in the local shape the rank stored its weight in, is then
 * placed into the global tensor by the same {@link LegacyMerge} rules as the weight itself (TP split, stacked layers,
 * TP rank 0's copy of replicated tensors), so the state lines up with the model element for element.
 *
 * <p>Refused with one line naming the file: a model-only checkpoint when the optimizer is wanted, a non-distributed
 * optimizer, several chained optimizers (MoE expert optimizer), pre-{@code buckets_coalesced} files, and any buffer
 * whose rebuilt layout does not add up to the saved size.
 */
public final class LegacyOptimizerIndexer {
    private LegacyOptimizerIndexer() {
    }

    /** Non-tensor entries of rank 0's {@code model_optim_rng.pt} a writer of the resharded checkpoint carries over. */
    private static final List<String> COMMON_KEYS = List.of("iteration", "checkpoint_version", "optimizer",
            "opt_param_scheduler", "num_floating_point_operations_so_far", "args");

    /**
     * Opens a legacy iteration directory.
     *
     * @param withOptimizer false to take the model alone ({@code --optimizer drop}): no optimizer tensors, and
     *                      {@code distrib_optim.pt} may be absent
     * @throws FormatException when the checkpoint cannot be read, or the optimizer state is wanted but missing or not
     *                         mappable to parameters
     */
    public static ReshardSource open(Path iterationDir, boolean withOptimizer) {
        return of(LegacyIndexer.index(LegacyIteration.open(iterationDir)), withOptimizer);
    }

    /**
     * The same from an index {@link LegacyIndexer} built (e.g. {@code Checkpoints.open} of a legacy save or iteration
     * dir), which the returned source then owns: it is closed here if this fails.
     *
     * @throws IllegalArgumentException when {@code legacy} is not a legacy torch-format index
     */
    public static ReshardSource of(CheckpointIndex legacy, boolean withOptimizer) {
        try {
            LegacyIteration it = LegacyIndexer.iteration(legacy).orElseThrow(() -> new IllegalArgumentException(
                    legacy.path() + " is " + legacy.format() + ", not a legacy torch-format checkpoint"));
            Map<String, Object> common = new LinkedHashMap<>();
            PyDict state = it.ranks().getFirst().state();
            for (String k : COMMON_KEYS) if (state.containsKey(k)) common.put(k, state.get(k));
            List<GlobalTensor> optimizer = withOptimizer ? optimizerState(it) : List.of();
            return new ReshardSource(legacy, optimizer, common);
        } catch (RuntimeException e) {
            legacy.close();
            throw e;
        }
    }

    private static List<GlobalTensor> optimizerState(LegacyIteration it) {
        LegacyRank first = it.ranks().getFirst();
        Path firstOptim = it.dir().resolve(first.distribOptimFileName());
        MegatronArgs a = it.args();
        if (!it.hasDistributedOptimizerState()) {
            if (!a.getBool("use_distributed_optimizer", false))
                throw new FormatException(it.dir().resolve(first.modelFileName()), "saved without the distributed "
                        + "optimizer: its optimizer state is not in distrib_optim.pt form and cannot be resharded; drop it "
                        + "(--optimizer drop) to reshard the model alone");
            throw new FormatException(firstOptim, "missing: a model-only legacy checkpoint (saved with --no-save-optim?); "
                    + "drop the optimizer state (--optimizer drop) to reshard the model alone");
        }
        if (it.model().numExperts() != null && it.model().numExperts() > 0)
            throw new FormatException(firstOptim, "MoE models' legacy optimizer state (expert buffers, router buffers) "
                    + "is not mapped to parameters yet; drop it (--optimizer drop) to reshard the model alone");
        LegacyMerge.Model mm = LegacyIndexer.mergeModel(it);
        int chunks = it.pipelineSplit().chunksPerStage();
        boolean gradFp32 = a.getBool("accumulate_allreduce_grads_in_fp32", false);

        Map<String, List<LegacyMerge.Shard>> byState = new LinkedHashMap<>();
        for (LegacyRank r : it.ranks()) {
            TorchSaveArchive opt = r.distribOptimArchive().orElseThrow();
            Path file = it.dir().resolve(r.distribOptimFileName());
            Map<Long, PyDict> buffers = buffers(file, opt.root());
            List<PyDict> sds = r.modelChunks(chunks);
            long gbuf = 0;
            long rankParams = 0;
            List<List<Param>> perChunk = new ArrayList<>();
            for (PyDict sd : sds) {
                List<Param> ps = params(sd);
                perChunk.add(ps);
                for (Param p : ps) rankParams += p.tensor.numel();
            }
            for (int v = 0; v < sds.size(); v++) {
                Long bucketSize = bucketSize(a, r.id().pp(), v, rankParams);
                // One buffer per (param dtype, grad dtype), in order of first use (group_params_for_buffers).
                Map<List<DType>, List<Param>> groups = new LinkedHashMap<>();
                for (Param p : perChunk.get(v)) {
                    DType d = p.tensor.dtype();
                    groups.computeIfAbsent(List.of(d, gradFp32 ? DType.FLOAT32 : d), k -> new ArrayList<>()).add(p);
                }
                for (Map.Entry<List<DType>, List<Param>> g : groups.entrySet()) {
                    PyDict buffer = buffers.get(gbuf);
                    String what = "gbuf_idx " + gbuf;
                    if (buffer == null)
                        throw new FormatException(file, "has no " + what + " but the model needs a buffer for its "
                                + pair(g.getKey()) + " parameters" + (chunks > 1 ? " of chunk model" + v : ""));
                    placeBuffer(file, r, v, what, g.getKey(), g.getValue(), buffer, bucketSize, sharedEmbedding(it, r, v, sds.size()), byState);
                    gbuf++;
                }
            }
            if (buffers.size() != gbuf)
                throw new FormatException(file, "holds " + buffers.size() + " gradient buffers but the model's parameters "
                        + "fill " + gbuf + ": cannot map the optimizer state back to parameters");
        }

        List<GlobalTensor> out = new ArrayList<>();
        for (Map.Entry<String, List<LegacyMerge.Shard>> e : byState.entrySet()) {
            KeyCategory c = category(e.getKey());
            for (GlobalTensor t : LegacyMerge.merge(it.dir(), mm, e.getValue()).tensors())
                out.add(new GlobalTensor("optimizer.state." + e.getKey() + "." + t.key(), t.dtype(), t.shape(), c, t.pieces()));
        }
        return out;
    }

    /** A parameter of a rank's model chunk as stored: its local key and tensor. */
    private record Param(String key, TensorRef tensor) {
    }

    /** The chunk's parameters in registration order: the state dict's tensors without Transformer Engine extra state. */
    private static List<Param> params(PyDict sd) {
        List<Param> out = new ArrayList<>();
        for (Map.Entry<Object, Object> e : sd.items().entrySet()) {
            String key = String.valueOf(e.getKey());
            if (LegacyIndexer.isExtraState(key) || !(e.getValue() instanceof TensorRef t) || t.isMeta()) continue;
            out.add(new Param(key, t));
        }
        return out;
    }

    private static Map<Long, PyDict> buffers(Path file, Object root) {
        if (root instanceof List<?> l)
            throw new FormatException(file, "holds the state of " + l.size() + " chained optimizers (e.g. a separate "
                    + "expert optimizer); only a single distributed optimizer's state is mapped to parameters");
        if (!(root instanceof PyDict d))
            throw new FormatException(file, "not a distributed-optimizer state: the saved object is not a dict");
        if (!Boolean.TRUE.equals(d.get("buckets_coalesced")))
            throw new FormatException(file, "has no buckets_coalesced flag: written by a Megatron release that saved "
                    + "per-bucket lists, which ckpt does not map to parameters");
        Map<Long, PyDict> out = new LinkedHashMap<>();
        for (Map.Entry<Object, Object> e : d.items().entrySet()) {
            if ("buckets_coalesced".equals(e.getKey())) continue;
            if (!(e.getKey() instanceof Long idx) || !(e.getValue() instanceof PyDict b))
                throw new FormatException(file, "unexpected entry " + e.getKey() + ": expected gbuf_idx → {(param dtype, "
                        + "grad dtype): {param, exp_avg, …}}");
            out.put(idx, b);
        }
        return out;
    }

    private static void placeBuffer(Path file, LegacyRank r, int chunk, String what, List<DType> pair, List<Param> params,
                                    PyDict buffer, Long bucketSize, Predicate<String> ownBucket,
                                    Map<String, List<LegacyMerge.Shard>> byState) {
        if (buffer.size() != 1 || !(buffer.items().entrySet().iterator().next().getKey() instanceof PyTuple key)
                || !(buffer.items().values().iterator().next() instanceof PyDict states))
            throw new FormatException(file, what + ": expected one (param dtype, grad dtype) entry, found " + buffer.size());
        if (!key.items().equals(List.copyOf(pair)))
            throw new FormatException(file, what + " is for " + tuple(key) + " but the model's parameters need a "
                    + pair(pair) + " buffer there (another precision or --accumulate-allreduce-grads-in-fp32 setting?)");
        if (!(states.get("numel_unpadded") instanceof Long numel))
            throw new FormatException(file, what + ": no numel_unpadded");
        what = what + " " + pair(pair);
        Map<String, TensorRef> tensors = new LinkedHashMap<>();
        for (Map.Entry<Object, Object> e : states.items().entrySet()) {
            if (!(e.getValue() instanceof TensorRef t)) continue;
            String name = String.valueOf(e.getKey());
            if (t.isMeta() || t.dtype() != DType.FLOAT32 || t.rank() != 1 || t.numel() != numel
                    || (t.numel() > 1 && t.stride()[0] != 1))
                throw new FormatException(file, what + " " + name + ": expected a contiguous float32[" + numel + "], found "
                        + t);
            tensors.put(name, t);
        }
        if (!tensors.containsKey("param"))
            throw new FormatException(file, what + ": no 'param' (fp32 main weights) tensor");

        List<BucketLayout.Param> order = new ArrayList<>(params.size());
        Map<BucketLayout.Param, Param> of = new java.util.IdentityHashMap<>();
        for (Param p : params) {
            BucketLayout.Param bp = new BucketLayout.Param(p.key, -1, p.tensor.numel());
            order.add(bp);
            of.put(bp, p);
        }
        CoalescedLayout layout = CoalescedLayout.of(order, bucketSize, bp -> ownBucket.test(bp.key()), numel, file, what);
        for (Map.Entry<String, TensorRef> e : tensors.entrySet()) {
            TorchSavePieceSource flat = TorchSavePieceSource.of(r.distribOptimFileName(), r.distribOptimArchive().orElseThrow(),
                    e.getValue(), 0);
            List<LegacyMerge.Shard> shards = byState.computeIfAbsent(e.getKey(), k -> new ArrayList<>());
            for (BucketLayout.Slot s : layout.slots()) {
                Param p = of.get(s.param());
                long[] shape = p.tensor.shape();
                long start = s.start();
                shards.add(new LegacyMerge.Shard(r.id(), r.dirName(), chunk, p.key, DType.FLOAT32, shape,
                        prepend -> flatView(flat, start, shape, prepend)));
            }
        }
    }

    /**
     * Megatron's resolved bucket size for one model chunk ({@code training.py::resolve_ddp_bucket_size} and the
     * per-chunk rule in {@code get_model}): none without {@code overlap_grad_reduce}, on pipeline stages after the
     * first, for chunks after the first, or with {@code overlap_param_gather_with_optimizer_step}; else
     * {@code num_parameters // ddp_num_buckets}, {@code ddp_bucket_size}, or {@code max(40M, 1M × DP·CP)}.
     */
    static Long bucketSize(MegatronArgs a, int ppRank, int chunk, long rankParams) {
        if (!a.getBool("overlap_grad_reduce", false)) return null;
        if (ppRank > 0 || chunk > 0 || a.getBool("overlap_param_gather_with_optimizer_step", false)) return null;
        Long buckets = a.getLong("ddp_num_buckets").orElse(null);
        if (buckets != null && buckets > 0) return Math.max(1, rankParams / buckets);
        Long size = a.getLong("ddp_bucket_size").orElse(null);
        if (size != null) return size;
        long dpCp = a.getLong("data_parallel_size", 1) * a.getLong("context_parallel_size", 1);
        return Math.max(40_000_000L, 1_000_000L * dpCp);
    }

    /**
     * Parameters Megatron marks {@code shared_embedding} (own bucket): with tied embeddings and PP &gt; 1, the first
     * stage's word embeddings (when that stage is not also the last) and the last stage's output-layer copy
     * ({@code LanguageModule.setup_embeddings_and_output_layer}).
     */
    private static Predicate<String> sharedEmbedding(LegacyIteration it, LegacyRank r, int chunk, int chunks) {
        if (!it.model().tiedEmbeddings() || it.pipelineParallel() == 1) return k -> false;
        boolean firstStage = r.id().pp() == 0 && chunk == 0;
        boolean lastStage = r.id().pp() == it.pipelineParallel() - 1 && chunk == chunks - 1;
        return k -> firstStage && k.equals("embedding.word_embeddings.weight")
                || lastStage && !firstStage && k.equals("output_layer.weight");
    }

    private static KeyCategory category(String state) {
        return switch (state) {
            case "param" -> KeyCategory.OPTIMIZER_MASTER;
            case "exp_avg" -> KeyCategory.OPTIMIZER_EXP_AVG;
            case "exp_avg_sq" -> KeyCategory.OPTIMIZER_EXP_AVG_SQ;
            default -> KeyCategory.OPTIMIZER_OTHER;
        };
    }

    /** A dtype-pair key as Python prints it (what torch_dist's {@code dtype_…} key part shows). */
    private static String tuple(PyTuple t) {
        List<String> parts = new ArrayList<>();
        for (Object x : t.items()) parts.add(x instanceof DType d ? "torch." + d.torchName() : String.valueOf(x));
        return "(" + String.join(", ", parts) + ")";
    }

    private static String pair(List<DType> pair) {
        return "(torch." + pair.get(0).torchName() + ", torch." + pair.get(1).torchName() + ")";
    }

    /**
     * The parameter's elements {@code [start, start + numel)} of a flat optimizer buffer, as a contiguous tensor of
     * its local shape with {@code prepend} singleton axes in front (the rank of the stacked global tensor it fills).
     */
    private static FlatViewSource flatView(TorchSavePieceSource flat, long start, long[] shape, int prepend) {
        long[] s = new long[prepend + shape.length];
        java.util.Arrays.fill(s, 0, prepend, 1);
        System.arraycopy(shape, 0, s, prepend, shape.length);
        return new FlatViewSource(flat, start, s, Shapes.contiguousStrides(s));
    }
}
