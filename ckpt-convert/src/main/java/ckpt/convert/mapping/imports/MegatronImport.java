package ckpt.convert.mapping.imports;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.mapping.imports.MegatronArgs.Parallel;
import ckpt.convert.mapping.imports.TensorRule.Scope;
import ckpt.convert.mapping.imports.TensorRule.Split;
import ckpt.convert.plan.ConversionPlan;
import ckpt.convert.plan.CopyItem;
import ckpt.convert.plan.DtypeChoice;
import ckpt.convert.plan.OutputTensor;
import ckpt.format.FormatException;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * HF → Megatron {@code torch_dist} planning: the family's table, evaluated for every layer and expert, cut into the
 * chunks each rank of a TP×PP×EP job owns. Rank = {@code tp + TP·(dp + DP·pp)} (mcore's default tp-cp-ep-dp-pp order,
 * DP = EP so that every expert rank exists; an expert's ETP = TP, EDP = 1 rank coincides with {@code dp = ep}). A chunk
 * replicated over TP or DP is written once, by its replica-0 rank (TP 0, DP 0) — the rank Megatron's deduplication
 * keeps without fully parallel save.
 */
public record MegatronImport(ConversionPlan plan, MegatronModel model, Parallel parallel, DType dtype,
                             List<BytesItem> items, Map<String, Object> args, List<String> flags) {
    /** A ShardedObject saved as a DCP bytes item: {@code torch.save(value)} written by {@code rank}. */
    public record BytesItem(String key, int rank, Object value) {
    }

    /** Linear layers of mcore's local spec that carry an {@code _extra_state} (always None). */
    private static final List<String> DENSE_LINEARS = List.of("self_attention.linear_proj", "self_attention.linear_qkv", "mlp.linear_fc1", "mlp.linear_fc2");
    private static final List<String> EXPERT_LINEARS = List.of("mlp.experts.experts.linear_fc1", "mlp.experts.experts.linear_fc2");

    public static MegatronImport plan(CheckpointIndex hf, Parallel p, DtypeChoice dtypeChoice) {
        if (p.tp() < 1 || p.pp() < 1 || p.ep() < 1) throw new IllegalArgumentException("--tp, --pp and --ep must be ≥ 1");
        HfConfig config = HfConfig.read(hf.path());
        ImportFamily family = ImportFamilies.of(config);
        MegatronModel m = family.config().apply(config, p.tp());
        checkDivisible(config, m, p);
        HfTensors src = new HfTensors(hf, family.stripPrefix());
        List<OutputTensor> tensors = new ArrayList<>();
        DType dtype = null;
        for (TensorRule r : family.table().apply(m)) {
            List<OutputTensor> chunks = chunks(r, m, p, src);
            DType d = chunks.getFirst().sourceDtype();
            if (dtype == null) dtype = dtypeChoice.target(d);
            tensors.addAll(chunks);
        }
        if (m.vocab().tied()) src.find("lm_head.weight", Position.GLOBAL); // the tied copy some exports keep: the embedding is written
        List<String> unused = src.unused();
        if (!unused.isEmpty())
            throw new FormatException(hf.path(), "the " + family.name() + " import has no place for " + unused.size()
                    + " tensor(s), converting would drop them: " + String.join(", ", unused.subList(0, Math.min(8, unused.size())))
                    + (unused.size() > 8 ? ", …" : ""));
        ConversionPlan plan = new ConversionPlan(tensors).withDtype(dtypeChoice);
        Map<String, Object> args = MegatronArgs.args(m, p, dtype);
        return new MegatronImport(plan, m, p, dtype, items(m, p), args, MegatronArgs.flags(m, p, dtype));
    }

    private static void checkDivisible(HfConfig c, MegatronModel m, Parallel p) {
        MegatronModel.Attention a = m.attention();
        if (m.layers() % p.pp() != 0) throw c.refuse(m.layers() + " layers do not split evenly into --pp " + p.pp() + " stages");
        if (a.heads() % p.tp() != 0 || a.groups() % p.tp() != 0)
            throw c.refuse(a.heads() + " heads / " + a.groups() + " key-value groups do not split evenly over --tp " + p.tp());
        if (m.mlp().ffn() % p.tp() != 0) throw c.refuse("FFN size " + m.mlp().ffn() + " does not split evenly over --tp " + p.tp());
        if (p.ep() > 1 && !m.isMoe()) throw c.refuse("--ep " + p.ep() + " needs a mixture-of-experts model");
        if (m.isMoe() && m.moe().experts() % p.ep() != 0) throw c.refuse(m.moe().experts() + " experts do not split evenly over --ep " + p.ep());
    }

    static int rank(Parallel p, long tp, long dp, long stage) {
        return Math.toIntExact(tp + p.tp() * (dp + p.ep() * stage));
    }

    private static List<OutputTensor> chunks(TensorRule r, MegatronModel m, Parallel p, HfTensors src) {
        List<OutputTensor> out = new ArrayList<>();
        long layers = m.layers(), perStage = layers / p.pp();
        List<Position> positions = new ArrayList<>();
        switch (r.scope()) {
            case FIRST_STAGE, LAST_STAGE -> positions.add(Position.GLOBAL);
            case LAYER -> {
                for (long i = 0; i < layers; i++) positions.add(Position.layer(i));
            }
            case EXPERT -> {
                for (long i = 0; i < layers; i++)
                    for (long e = 0; e < m.moe().experts(); e++) positions.add(new Position(i, e));
            }
        }
        long[] shape = null;
        for (Position at : positions) {
            Rule.Filled f = r.rule().toMegatron(src, at);
            if (shape == null) shape = f.shape();
            else if (!Arrays.equals(shape, f.shape()))
                throw new FormatException(src.index().path(), r.megatronKey() + " of layer " + at.layer() + " has shape "
                        + Arrays.toString(f.shape()) + ", layer 0's " + Arrays.toString(shape) + ": Megatron stacks layers of one shape");
            long[] prefix = switch (r.scope()) {
                case FIRST_STAGE, LAST_STAGE -> new long[0];
                case LAYER -> new long[]{at.layer()};
                case EXPERT -> new long[]{at.layer(), at.expert()};
            };
            long[] prefixSizes = switch (r.scope()) {
                case FIRST_STAGE, LAST_STAGE -> new long[0];
                case LAYER -> new long[]{layers};
                case EXPERT -> new long[]{layers, m.moe().experts()};
            };
            long stage = switch (r.scope()) {
                case FIRST_STAGE -> 0;
                case LAST_STAGE -> p.pp() - 1;
                case LAYER, EXPERT -> at.layer() / perStage;
            };
            long dp = r.scope() == Scope.EXPERT ? at.expert() / (m.moe().experts() / p.ep()) : 0;
            long[] global = concat(prefixSizes, f.shape());
            for (long t = 0; t < p.tp(); t++) {
                for (Box local : tpBoxes(r, f.shape(), t, p.tp(), src)) {
                    List<CopyItem> items = new ArrayList<>();
                    for (CopyItem it : f.items()) it.within(local).ifPresent(items::add);
                    long[] ones = new long[prefix.length];
                    Arrays.fill(ones, 1);
                    Box box = new Box(concat(prefix, local.offsets()), concat(ones, local.sizes()));
                    String name = r.megatronKey() + Arrays.toString(box.offsets());
                    out.add(new OutputTensor(name, f.dtype(), local.sizes(), f.dtype(), items,
                            new OutputTensor.Chunk(r.megatronKey(), global, box, rank(p, t, dp, stage))));
                }
            }
        }
        return out;
    }

    /** TP rank {@code t}'s boxes of one instance of the tensor; none for t > 0 when the tensor is replicated. */
    private static List<Box> tpBoxes(TensorRule r, long[] shape, long t, long tp, HfTensors src) {
        int n = shape.length;
        if (r.split() == Split.REPLICATED || tp == 1) return t == 0 ? List.of(Box.whole(shape)) : List.of();
        int axis = r.split() == Split.COLUMNS ? n - 1 : 0;
        long parts = r.split() == Split.GLU ? 2 * tp : tp;
        if (n == 0 || shape[axis] % parts != 0)
            throw new FormatException(src.index().path(), r.megatronKey() + " of shape " + Arrays.toString(shape)
                    + " does not split into " + parts + " equal parts for --tp " + tp);
        long size = shape[axis] / parts;
        List<Box> out = new ArrayList<>();
        out.add(along(shape, axis, t * size, size));
        if (r.split() == Split.GLU) out.add(along(shape, axis, shape[axis] / 2 + t * size, size)); // rank t's up rows
        return out;
    }

    private static Box along(long[] shape, int axis, long from, long size) {
        long[] o = new long[shape.length], s = shape.clone();
        o[axis] = from;
        s[axis] = size;
        return new Box(o, s);
    }

    private static long[] concat(long[] a, long[] b) {
        long[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** The {@code _extra_state} ShardedObjects of mcore's local-spec linears (value None, saved as {@code [None]}). */
    private static List<BytesItem> items(MegatronModel m, Parallel p) {
        List<BytesItem> out = new ArrayList<>();
        long layers = m.layers(), perStage = layers / p.pp();
        for (long i = 0; i < layers; i++) {
            int writer = rank(p, 0, 0, i / perStage);
            for (String lin : DENSE_LINEARS) {
                if (m.isMoe() && lin.startsWith("mlp.")) continue;
                out.add(new BytesItem("decoder.layers." + lin + "._extra_state/shard_" + i + "_" + layers, writer, noneList()));
            }
            if (m.isMoe()) {
                long experts = m.moe().experts(), perRank = experts / p.ep();
                for (long e = 0; e < experts; e++)
                    for (String lin : EXPERT_LINEARS)
                        out.add(new BytesItem("decoder.layers." + lin + "._extra_state/shard_" + i + "." + e + "_" + layers + "." + experts,
                                rank(p, 0, e / perRank, i / perStage), noneList()));
            }
        }
        return out;
    }

    private static List<Object> noneList() {
        return Arrays.asList((Object) null);
    }
}
