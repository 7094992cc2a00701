package ckpt.convert.index;

import ckpt.convert.assembly.Coverage;
import ckpt.format.FormatException;
import ckpt.format.megatron.KeyCategory;
import ckpt.format.megatron.legacy.PipelineSplit;
import ckpt.format.megatron.legacy.RankId;
import ckpt.format.tensor.DType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * The merge at the heart of the legacy reader, independent of files: every rank's local model tensors (stage-local
 * layer numbers, EP-local expert numbers, TP shards) → global tensors under torch_dist keys, with pieces and
 * replicas. Layer offsets follow {@link PipelineSplit}; TP placement follows {@link TpSplit}. Public so that other
 * per-parameter state saved in the model's local layout (the distributed optimizer's fp32 main params and moments,
 * {@code ckpt.convert.reshard.LegacyOptimizerIndexer}) is placed by exactly the same rules as the weights.
 */
public final class LegacyMerge {
    private LegacyMerge() {
    }

    /**
     * What the merge needs to know about the model and the split.
     *
     * @param stacked        torch_dist stacks layers ({@code decoder.layers.<name>} with a leading layer axis)
     * @param localSpecNames rename local-spec norms to the TE fused names
     * @param customLayout   a {@code pipeline_model_parallel_layout} decides the layer counts (offsets = running sums)
     */
    public record Model(long numLayers, long numExperts, boolean gatedLinearUnit, boolean tiedEmbeddings, boolean stacked,
                 boolean localSpecNames, int tensorParallel, int expertParallel, PipelineSplit split,
                 boolean customLayout) {
        public int pipelineParallel() {
            return split.pipelineSize();
        }
    }

    /**
     * One tensor of one rank's model chunk, as stored.
     *
     * @param source the stored tensor seen with {@code n} singleton axes prepended, for {@code n} = the argument
     */
    public record Shard(RankId rank, String rankName, int chunk, String key, DType dtype, long[] shape,
                 IntFunction<PieceSource> source) {
    }

    public record Result(List<GlobalTensor> tensors, List<LegacyReplica> replicas, long[][] layerOffsets) {
    }

    public static Result merge(Path dir, Model m, List<Shard> shards) {
        long[][] offsets = layerOffsets(dir, m, shards);
        Map<String, Builder> built = new LinkedHashMap<>();
        List<LegacyReplica> replicas = new ArrayList<>();
        for (Shard s : shards) place(dir, m, s, offsets[s.rank().pp()][s.chunk()], built, replicas);
        List<GlobalTensor> tensors = new ArrayList<>(built.size());
        for (Builder b : built.values()) tensors.add(b.build(dir));
        return new Result(tensors, replicas, offsets);
    }

    /**
     * Global number of the first layer of each (stage, chunk). Layer counts are read off the shards (all ranks of a
     * stage must agree); without a custom layout they must be what Megatron's split implies and the offsets are
     * Megatron's; with a layout they are the running sum in chunk-major order, which is how a layout assigns layers.
     */
    static long[][] layerOffsets(Path dir, Model m, List<Shard> shards) {
        PipelineSplit split = m.split();
        int pp = m.pipelineParallel();
        int chunks = split.chunksPerStage();
        Map<RankId, long[]> perRank = new HashMap<>();
        Map<RankId, String> names = new HashMap<>();
        for (Shard s : shards) {
            if (s.rank().pp() >= pp || s.chunk() >= chunks)
                throw new IllegalArgumentException("shard of " + s.rankName() + " chunk " + s.chunk() + " outside the split");
            long[] c = perRank.computeIfAbsent(s.rank(), k -> new long[chunks]);
            names.put(s.rank(), s.rankName());
            LegacyKeys.Parsed p = LegacyKeys.parse(s.key(), false);
            if (p.inLayer()) c[s.chunk()] = Math.max(c[s.chunk()], p.localLayer() + 1L);
        }
        long[][] counts = new long[pp][];
        String[] countedBy = new String[pp];
        perRank.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            int p = e.getKey().pp();
            if (counts[p] == null) {
                counts[p] = e.getValue();
                countedBy[p] = names.get(e.getKey());
            } else if (!Arrays.equals(counts[p], e.getValue())) {
                throw new FormatException(dir, countedBy[p] + " and " + names.get(e.getKey())
                        + " hold different numbers of decoder layers (" + Arrays.toString(counts[p]) + " vs "
                        + Arrays.toString(e.getValue()) + ") in the same pipeline stage");
            }
        });
        long[][] offsets = new long[pp][chunks];
        long running = 0;
        for (int v = 0; v < chunks; v++) {
            for (int p = 0; p < pp; p++) {
                long n = counts[p] == null ? 0 : counts[p][v];
                if (m.customLayout()) {
                    offsets[p][v] = running;
                } else {
                    long expect = split.layers(p, v);
                    if (n != expect)
                        throw new FormatException(dir, (countedBy[p] == null ? "stage " + p : countedBy[p])
                                + (chunks > 1 ? " chunk model" + v : "") + " holds " + n + " decoder layers where the args "
                                + "(num_layers " + split.numLayers() + ", PP " + split.pipelineSize()
                                + (split.virtualSize() != null ? ", VPP " + split.virtualSize() : "") + ") imply " + expect);
                    offsets[p][v] = split.offset(p, v);
                }
                running += n;
            }
        }
        if (running != m.numLayers())
            throw new FormatException(dir, "the rank files hold " + running + " decoder layers, args.num_layers is " + m.numLayers());
        return offsets;
    }

    private static void place(Path dir, Model m, Shard s, long layerOffset, Map<String, Builder> built,
                              List<LegacyReplica> replicas) {
        LegacyKeys.Parsed pk = LegacyKeys.parse(s.key(), m.localSpecNames());
        String where = "key " + s.key() + " of " + s.rankName();
        long layer = pk.inLayer() ? layerOffset + pk.localLayer() : -1;
        boolean tiedOutput = m.tiedEmbeddings() && s.key().equals("output_layer.weight");
        String globalKey = tiedOutput ? "embedding.word_embeddings.weight" : pk.globalKey(layer, m.stacked());
        TpSplit rule = LegacyKeys.split(pk.name(), m.gatedLinearUnit());
        if (rule == null) {
            if (m.tensorParallel() > 1)
                throw new FormatException(dir, where, "no tensor-parallel merge rule is known for this tensor (TP="
                        + m.tensorParallel() + "); ckpt will not guess how its shards combine");
            rule = TpSplit.REPLICATED;
        }
        long[] idx = new long[2];
        long[] sizes = new long[2];
        int prefix = 0;
        if (pk.inLayer() && m.stacked()) {
            idx[prefix] = layer;
            sizes[prefix++] = m.numLayers();
        }
        if (pk.isExpert()) {
            long local = m.numExperts() / m.expertParallel();
            if (local == 0 || pk.localExpert() >= local)
                throw new FormatException(dir, where, "local expert " + pk.localExpert() + " does not fit num_experts "
                        + m.numExperts() + " over EP=" + m.expertParallel());
            idx[prefix] = s.rank().ep() * local + pk.localExpert();
            sizes[prefix++] = m.numExperts();
        }
        TpSplit.Placement pl;
        try {
            pl = rule.place(Arrays.copyOf(idx, prefix), Arrays.copyOf(sizes, prefix), s.shape(), s.rank().tp(), m.tensorParallel());
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new FormatException(dir, where, "shape " + Arrays.toString(s.shape()) + " does not fit the "
                    + rule.name().toLowerCase() + " rule of " + globalKey + ": " + e.getMessage());
        }
        // Rank 0 of a replicated split holds the piece; dense tensors are repeated on every expert rank.
        boolean primary = !tiedOutput && (rule != TpSplit.REPLICATED || s.rank().tp() == 0)
                && (pk.isExpert() || s.rank().ep() == 0);
        Builder b = built.computeIfAbsent(globalKey, Builder::new);
        b.accept(dir, s.rankName() + ":" + s.key(), s.dtype(), pl.globalShape());
        PieceSource src = s.source().apply(prefix);
        for (TpSplit.Part part : pl.parts()) {
            TensorPiece piece = new TensorPiece(part.box(), src, part.sourceOrigin());
            if (primary) b.pieces.add(piece);
            else replicas.add(new LegacyReplica(globalKey, s.rankName(), piece));
        }
    }

    /** Collects one global tensor: dtype and shape must agree across every rank that contributes. */
    private static final class Builder {
        final String key;
        DType dtype;
        long[] shape;
        String first;
        final List<TensorPiece> pieces = new ArrayList<>();

        Builder(String key) {
            this.key = key;
        }

        void accept(Path dir, String from, DType d, long[] globalShape) {
            if (dtype == null) {
                dtype = d;
                shape = globalShape;
                first = from;
                return;
            }
            if (d != dtype || !Arrays.equals(shape, globalShape))
                throw FormatException.atKey(dir, key, first + " implies " + dtype + Arrays.toString(shape) + " but "
                        + from + " implies " + d + Arrays.toString(globalShape) + ": the ranks' shards do not fit together");
        }

        GlobalTensor build(Path dir) {
            if (pieces.isEmpty())
                throw FormatException.atKey(dir, key, "only replicas found (e.g. a tied output layer without the embedding it copies)");
            GlobalTensor t = new GlobalTensor(key, dtype, shape, KeyCategory.MODEL_WEIGHT, pieces);
            java.util.Optional<String> problem;
            try {
                problem = Coverage.problem(t);
            } catch (ArithmeticException e) {
                problem = java.util.Optional.of("its shape " + Arrays.toString(shape) + " overflows");
            }
            problem.ifPresent(p -> {
                throw FormatException.atKey(dir, key, "the rank shards do not tile the global tensor: " + p);
            });
            return t;
        }
    }
}
