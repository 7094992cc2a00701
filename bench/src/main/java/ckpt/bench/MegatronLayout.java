package ckpt.bench;

import ckpt.bench.Values.Kind;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyGlobal;
import ckpt.format.pickle.PyObject;
import ckpt.format.pickle.PyTuple;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;
import ckpt.format.torchsave.TorchSaveWriter;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * What a Megatron-core (0.19+, {@code torch_dist}) save of a Llama-style GPT contains, item by item, as in the real
 * fixtures (FORMATS.md §4, §8): stacked-layer keys with a leading {@code [L]} axis, TP chunks (QKV rows by query
 * group on dim 1, SwiGLU fc1 as {@code 2·tp} chunks — gate halves then up halves —, row-parallel weights on the last
 * dim, norms unsplit), the {@code common_state/shard_0_1}, {@code rng_state}, {@code _extra_state} and
 * {@code rerun_state_machine_state} bytes items, and the distributed optimizer's state in {@code dp_reshardable}
 * buckets (reverse registration order, 64-element aligned parameter starts, bucket ends padded to lcm(DP, 128),
 * one chunk per parameter or padding gap per DP shard) or {@code fully_reshardable} keys shaped like the model.
 *
 * <p>Global rank = tp + TP·(dp + DP·pp) (Megatron's default tp-cp-ep-dp-pp order). Model chunks are spread over the
 * DP ranks of their TP×PP position in turn, as Megatron's fully parallel save spreads them.
 */
public final class MegatronLayout {
    public enum Optimizer { DP_RESHARDABLE, FULLY_RESHARDABLE, NONE;

        public String megatronName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** A global tensor the checkpoint holds and what fills it. */
    public record Tensor(String key, Kind kind, long[] shape) {
        public DType dtype() {
            return kind.dtype;
        }

        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    /** One stored chunk: which rank writes it. */
    public record Chunk(Tensor tensor, Box box, int rank) {
    }

    /** One bytes item: {@code torch.save(value)} written by {@code rank}. */
    public record Item(String key, int rank, Object value) {
    }

    static final String BUCKET_DTYPE = "dtype_(torch.bfloat16, torch.float32)";

    private final ModelShape m;
    private final int tp, pp, dp;
    private final Optimizer optimizer;
    private final long bucketSize;
    private final long iteration;
    private final boolean fp32Weights;
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();
    private final List<Chunk> chunks = new ArrayList<>();
    private final List<Item> items = new ArrayList<>();
    private int spread;

    /** @param bucketSize elements per gradient bucket ({@code --overlap-grad-reduce}); 0 = one bucket per group */
    public MegatronLayout(ModelShape shape, int tp, int pp, int dp, Optimizer optimizer, long bucketSize, long iteration) {
        this(shape, tp, pp, dp, optimizer, bucketSize, iteration, false);
    }

    /** @param fp32Weights weights and norms in fp32 (a model trained in fp32) instead of bf16 */
    public MegatronLayout(ModelShape shape, int tp, int pp, int dp, Optimizer optimizer, long bucketSize, long iteration,
                          boolean fp32Weights) {
        if (tp < 1 || pp < 1 || dp < 1) throw new IllegalArgumentException("parallel sizes must be ≥ 1");
        shape.checkDivisible(tp, pp);
        this.m = shape;
        this.tp = tp;
        this.pp = pp;
        this.dp = dp;
        this.optimizer = optimizer;
        this.bucketSize = bucketSize;
        this.iteration = iteration;
        this.fp32Weights = fp32Weights;
        planItems();
        planModel();
        if (optimizer == Optimizer.DP_RESHARDABLE) planDpReshardable();
        if (optimizer == Optimizer.FULLY_RESHARDABLE) planFullyReshardable();
    }

    public List<Tensor> tensors() {
        return List.copyOf(tensors.values());
    }

    public List<Chunk> chunks() {
        return chunks;
    }

    public List<Item> items() {
        return items;
    }

    public int layers() {
        return m.layers();
    }

    public int worldSize() {
        return tp * pp * dp;
    }

    int rank(int t, int p, int d) {
        return t + tp * (d + dp * p);
    }

    private int stageOf(int layer) {
        return layer / (m.layers() / pp);
    }

    // ---- model weights ----

    private Tensor tensor(String key, Kind kind, long... shape) {
        Kind k2 = !fp32Weights ? kind : kind == Kind.WEIGHT ? Kind.WEIGHT_FP32 : kind == Kind.NORM ? Kind.NORM_FP32 : kind;
        return tensors.computeIfAbsent(key, k -> new Tensor(k, k2, shape));
    }

    private void chunk(Tensor t, int tpRank, int stage, Box box) {
        chunks.add(new Chunk(t, box, rank(tpRank, stage, spread++ % dp)));
    }

    private static Box box(long[] offsets, long[] sizes) {
        return new Box(offsets, sizes);
    }

    private void planModel() {
        long h = m.hidden(), L = m.layers(), V = m.vocab(), F = m.ffn(), rows = m.qkvRows(), proj = m.heads() * m.kvChannels();
        Tensor emb = tensor("embedding.word_embeddings.weight", Kind.WEIGHT, V, h);
        for (int r = 0; r < tp; r++) chunk(emb, r, 0, box(new long[]{r * V / tp, 0}, new long[]{V / tp, h}));
        Tensor qkvLn = tensor("decoder.layers.self_attention.linear_qkv.layer_norm_weight", Kind.NORM, L, h);
        Tensor projW = tensor("decoder.layers.self_attention.linear_proj.weight", Kind.WEIGHT, L, h, proj);
        Tensor qkv = tensor("decoder.layers.self_attention.linear_qkv.weight", Kind.WEIGHT, L, rows, h);
        Tensor fc1Ln = tensor("decoder.layers.mlp.linear_fc1.layer_norm_weight", Kind.NORM, L, h);
        Tensor fc1 = tensor("decoder.layers.mlp.linear_fc1.weight", Kind.WEIGHT, L, 2 * F, h);
        Tensor fc2 = tensor("decoder.layers.mlp.linear_fc2.weight", Kind.WEIGHT, L, h, F);
        for (int l = 0; l < L; l++) {
            int s = stageOf(l);
            chunk(qkvLn, 0, s, box(new long[]{l, 0}, new long[]{1, h}));
            for (int r = 0; r < tp; r++) {
                chunk(projW, r, s, box(new long[]{l, 0, r * proj / tp}, new long[]{1, h, proj / tp}));
                chunk(qkv, r, s, box(new long[]{l, r * rows / tp, 0}, new long[]{1, rows / tp, h}));
            }
            chunk(fc1Ln, 0, s, box(new long[]{l, 0}, new long[]{1, h}));
            for (int r = 0; r < tp; r++) {
                // SwiGLU: rank r's gate rows and up rows are chunks r and r + tp of a 2·tp split of the fused axis
                chunk(fc1, r, s, box(new long[]{l, r * F / tp, 0}, new long[]{1, F / tp, h}));
                chunk(fc1, r, s, box(new long[]{l, F + r * F / tp, 0}, new long[]{1, F / tp, h}));
                chunk(fc2, r, s, box(new long[]{l, 0, r * F / tp}, new long[]{1, h, F / tp}));
            }
        }
        Tensor fin = tensor("decoder.final_layernorm.weight", Kind.NORM, h);
        chunk(fin, 0, pp - 1, box(new long[]{0}, new long[]{h}));
        Tensor out = tensor("output_layer.weight", Kind.WEIGHT, V, h);
        for (int r = 0; r < tp; r++) chunk(out, r, pp - 1, box(new long[]{r * V / tp, 0}, new long[]{V / tp, h}));
    }

    // ---- optimizer ----

    private void planFullyReshardable() {
        List<Chunk> model = List.copyOf(chunks);
        for (String state : List.of("param", "exp_avg", "exp_avg_sq")) {
            Kind kind = stateKind(state);
            for (Chunk c : model) {
                Tensor t = tensor("optimizer.state." + state + "." + c.tensor.key(), kind, c.tensor.shape());
                // gathered over DP and written by DP rank 0 of the chunk's TP×PP position
                int tpRank = c.rank % tp;
                int stage = c.rank / (tp * dp);
                chunks.add(new Chunk(t, c.box, rank(tpRank, stage, 0)));
            }
        }
    }

    /** A box of a model tensor: part of a TP-local parameter. */
    record Piece(Tensor tensor, Box box) {
    }

    /** One TP/PP-local parameter in a gradient buffer: its pieces of model tensors, in the local tensor's row-major order. */
    record Param(String name, List<Piece> pieces) {
        long numel() {
            long n = 0;
            for (Piece p : pieces) n += p.box.numel();
            return n;
        }
    }

    /** The local parameters of TP rank {@code r} on stage {@code stage}, in registration order (local spec). */
    List<Param> localParams(int stage, int r) {
        long h = m.hidden(), V = m.vocab(), F = m.ffn(), rows = m.qkvRows(), proj = m.heads() * m.kvChannels();
        List<Param> ps = new ArrayList<>();
        if (stage == 0) ps.add(param("embedding", "embedding.word_embeddings.weight", box(new long[]{r * V / tp, 0}, new long[]{V / tp, h})));
        int per = m.layers() / pp;
        String d = "decoder.layers.";
        for (int l = stage * per; l < (stage + 1) * per; l++) {
            ps.add(param(l + ".qkv_ln", d + "self_attention.linear_qkv.layer_norm_weight", box(new long[]{l, 0}, new long[]{1, h})));
            ps.add(param(l + ".proj", d + "self_attention.linear_proj.weight", box(new long[]{l, 0, r * proj / tp}, new long[]{1, h, proj / tp})));
            ps.add(param(l + ".qkv", d + "self_attention.linear_qkv.weight", box(new long[]{l, r * rows / tp, 0}, new long[]{1, rows / tp, h})));
            ps.add(param(l + ".fc1_ln", d + "mlp.linear_fc1.layer_norm_weight", box(new long[]{l, 0}, new long[]{1, h})));
            // SwiGLU: the local fc1 is this rank's gate rows, then its up rows
            Tensor fc1 = tensors.get(d + "mlp.linear_fc1.weight");
            ps.add(new Param(l + ".fc1", List.of(new Piece(fc1, box(new long[]{l, r * F / tp, 0}, new long[]{1, F / tp, h})),
                    new Piece(fc1, box(new long[]{l, F + r * F / tp, 0}, new long[]{1, F / tp, h})))));
            ps.add(param(l + ".fc2", d + "mlp.linear_fc2.weight", box(new long[]{l, 0, r * F / tp}, new long[]{1, h, F / tp})));
        }
        if (stage == pp - 1) {
            ps.add(param("final_ln", "decoder.final_layernorm.weight", box(new long[]{0}, new long[]{h})));
            ps.add(param("output", "output_layer.weight", box(new long[]{r * V / tp, 0}, new long[]{V / tp, h})));
        }
        return ps;
    }

    private Param param(String name, String key, Box b) {
        return new Param(name, List.of(new Piece(tensors.get(key), b)));
    }

    /** A bucket segment: a parameter (index into the bucket-order parameter list) or a padding gap ({@code -1}). */
    record Segment(long start, long length, int param) {
    }

    /** A bucket: segments at bucket-local offsets, unpadded and padded sizes. */
    record Bucket(List<Segment> segments, long unpadded, long padded) {
    }

    /** A dp_reshardable bucket tensor: which state of which parameters it holds. */
    private record BucketTensor(String state, List<Param> bucketOrder, Bucket bucket) {
    }

    private final Map<String, BucketTensor> bucketTensors = new java.util.HashMap<>();

    /**
     * Megatron's gradient-buffer layout ({@code param_and_grad_buffer.py}, written here without ckpt's
     * {@code BucketLayout}): parameters in reverse registration order, each start padded to 64 elements; a bucket
     * closes once it holds {@code bucketSize} elements; its end is padded to lcm(DP, 128). Bucketing is off on
     * pipeline stages after the first ({@code training.py}: {@code pp_rank > 0} gets no bucket size).
     */
    List<Bucket> buckets(List<Param> bucketOrder, int stage) {
        long size = stage == 0 ? bucketSize : 0;
        long endPad = lcm(dp, 128);
        List<Bucket> out = new ArrayList<>();
        List<Segment> segs = new ArrayList<>();
        long pos = 0;
        for (int i = 0; i < bucketOrder.size(); i++) {
            long start = roundUp(pos, 64);
            if (start > pos) segs.add(new Segment(pos, start - pos, -1));
            segs.add(new Segment(start, bucketOrder.get(i).numel(), i));
            pos = start + bucketOrder.get(i).numel();
            boolean last = i == bucketOrder.size() - 1;
            if (last || (size > 0 && pos >= size)) {
                out.add(new Bucket(segs, pos, roundUp(pos, endPad)));
                segs = new ArrayList<>();
                pos = 0;
            }
        }
        return out;
    }

    private void planDpReshardable() {
        for (int p = 0; p < pp; p++) {
            for (int r = 0; r < tp; r++) {
                int group = p * tp + r;
                List<Param> order = new ArrayList<>(localParams(p, r));
                java.util.Collections.reverse(order);
                List<Bucket> buckets = buckets(order, p);
                for (int b = 0; b < buckets.size(); b++) {
                    Bucket bk = buckets.get(b);
                    long shard = bk.padded / dp;
                    String prefix = "optimizer.distributed.dp_group_idx_" + group + ".gbuf_idx_0." + BUCKET_DTYPE + ".bucket_idx_" + b + ".";
                    for (String state : List.of("param", "exp_avg", "exp_avg_sq")) {
                        Tensor t = tensor(prefix + state, stateKind(state), bk.unpadded);
                        bucketTensors.put(t.key(), new BucketTensor(state, order, bk));
                        for (int d = 0; d < dp; d++) {
                            long lo = d * shard, hi = Math.min((d + 1) * shard, bk.unpadded);
                            for (Segment seg : bk.segments) {
                                long s = Math.max(lo, seg.start), e = Math.min(hi, seg.start + seg.length);
                                if (s < e) chunks.add(new Chunk(t, box(new long[]{s}, new long[]{e - s}), rank(r, p, d)));
                            }
                        }
                    }
                }
                List<Object> padded = new ArrayList<>(), unpadded = new ArrayList<>();
                for (Bucket bk : buckets) {
                    padded.add(bk.padded);
                    unpadded.add(bk.unpadded);
                }
                String base = "optimizer.distributed.dp_group_idx_" + group + ".";
                int writer = rank(r, p, 0);
                items.add(new Item(base + "optimizer/shard_0_1", writer, List.of(optimizerState())));
                items.add(new Item(base + "per_bucket_numel/shard_0_1", writer, List.of(List.of(bucketDict(padded)))));
                items.add(new Item(base + "per_bucket_numel_unpadded/shard_0_1", writer, List.of(List.of(bucketDict(unpadded)))));
            }
        }
    }

    private static Kind stateKind(String state) {
        return switch (state) {
            case "param" -> Kind.MAIN_PARAM;
            case "exp_avg" -> Kind.EXP_AVG;
            default -> Kind.EXP_AVG_SQ;
        };
    }

    /**
     * The element stream of a per-parameter optimizer state {@code optimizer.state.<state>.<model key>} — the tensor a
     * fully_reshardable save holds, and what a dp_reshardable bucket holds for that parameter — or of any other tensor.
     */
    Values.Stream stream(String key, Kind kind) {
        String mainParam = "optimizer.state.param.";
        if (kind == Kind.MAIN_PARAM && key.startsWith(mainParam)) {
            Tensor w = tensors.get(key.substring(mainParam.length()));
            return Values.Stream.mainParamOf(key, w.kind(), w.key());
        }
        return Values.Stream.own(kind, key);
    }

    /** Fills chunk {@code c}'s bytes ({@code dst}: the box's elements, row-major). */
    public void fill(Values v, Chunk c, MemorySegment dst) {
        BucketTensor bt = bucketTensors.get(c.tensor().key());
        if (bt == null) v.fill(stream(c.tensor().key(), c.tensor().kind()), c.tensor().shape(), c.box(), dst);
        else fillBucket(v, bt, c.box().offset(0), c.box().size(0), dst);
    }

    /** sha256 of a global tensor's bytes, as {@link #fill} writes them. */
    public String sha256(Values v, Tensor t) {
        BucketTensor bt = bucketTensors.get(t.key());
        if (bt == null) return v.sha256(stream(t.key(), t.kind()), t.shape());
        java.security.MessageDigest md;
        try {
            md = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        long block = 1 << 18;
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(block * 4);
            for (long at = 0; at < t.numel(); at += block) {
                long n = Math.min(block, t.numel() - at);
                MemorySegment s = buf.asSlice(0, n * 4);
                fillBucket(v, bt, at, n, s);
                md.update(s.asByteBuffer());
            }
        }
        return java.util.HexFormat.of().formatHex(md.digest());
    }

    /**
     * Bucket elements {@code [from, from+n)}: each parameter segment's elements are the per-parameter state's values
     * at the global positions of the parameter's local elements (walked row by row through its pieces); padding gaps
     * are zeros.
     */
    private void fillBucket(Values v, BucketTensor bt, long from, long n, MemorySegment dst) {
        long to = from + n;
        for (Segment seg : bt.bucket.segments) {
            long s = Math.max(from, seg.start), e = Math.min(to, seg.start + seg.length);
            if (s >= e) continue;
            long dstOff = (s - from) * 4;
            if (seg.param < 0) {
                dst.asSlice(dstOff, (e - s) * 4).fill((byte) 0);
                continue;
            }
            long lo = s - seg.start, hi = e - seg.start, pieceStart = 0;
            for (Piece pc : bt.bucketOrder.get(seg.param).pieces) {
                long pn = pc.box.numel(), a = Math.max(lo, pieceStart), b = Math.min(hi, pieceStart + pn);
                if (a < b) {
                    Values.Stream st = stream("optimizer.state." + bt.state + "." + pc.tensor.key(), stateKind(bt.state));
                    fillBoxRange(v, st, pc.tensor.shape(), pc.box, a - pieceStart, b - pieceStart, dst, (a - lo) * 4 + dstOff);
                }
                pieceStart += pn;
            }
        }
    }

    /** Elements {@code [a, b)} (row-major within {@code box}) of a global tensor's stream into {@code dst}. */
    private static void fillBoxRange(Values v, Values.Stream st, long[] shape, Box box, long a, long b, MemorySegment dst, long dstOff) {
        int rank = shape.length;
        long rowLen = box.size(rank - 1);
        long[] stride = new long[rank];
        long acc = 1;
        for (int d = rank - 1; d >= 0; d--) {
            stride[d] = acc;
            acc *= shape[d];
        }
        for (long at = a; at < b; ) {
            long row = at / rowLen, inRow = at % rowLen, k = Math.min(rowLen - inRow, b - at);
            long global = box.offset(rank - 1) + inRow, rest = row;
            for (int d = rank - 2; d >= 0; d--) {
                global += (box.offset(d) + rest % box.size(d)) * stride[d];
                rest /= box.size(d);
            }
            v.run(st, global, k, dst, dstOff + (at - a) * 4);
            at += k;
        }
    }

    private static PyDict bucketDict(List<Object> sizes) {
        PyDict d = new PyDict();
        d.put(PyTuple.of(DType.BFLOAT16, DType.FLOAT32), sizes);
        return d;
    }

    private PyDict optimizerState() {
        List<Object> groups = new ArrayList<>();
        for (double wd : new double[]{0.1, 0.0}) {
            PyDict g = dict("is_expert_parallel", false, "default_config", true, "wd_mult", wd > 0 ? 1.0 : 0.0,
                    "lr_mult", 1.0, "is_decoupled_lr", false, "max_lr", 3e-4, "min_lr", 3e-5, "lr", 3e-4,
                    "betas", PyTuple.of(0.9, 0.95), "eps", 1e-8, "weight_decay", wd, "amsgrad", false, "maximize", false,
                    "foreach", null, "capturable", false, "differentiable", false, "fused", null,
                    "decoupled_weight_decay", true, "step", (double) iteration);
            groups.add(g);
        }
        return dict("param_groups", groups);
    }

    // ---- bytes items ----

    private void planItems() {
        items.add(new Item("common_state/shard_0_1", 0, List.of(commonState())));
        for (int p = 0; p < pp; p++)
            for (int r = 0; r < tp; r++)
                items.add(new Item("rng_state/shard_" + p + "." + r + "_" + pp + "." + tp, rank(r, p, 0), List.of(List.of(rngState(p * tp + r)))));
        int L = m.layers();
        for (int l = 0; l < L; l++)
            for (String module : List.of("self_attention.linear_proj", "self_attention.linear_qkv", "mlp.linear_fc1", "mlp.linear_fc2"))
                items.add(new Item("decoder.layers." + module + "._extra_state/shard_" + l + "_" + L, rank(0, stageOf(l), 0),
                        java.util.Arrays.asList((Object) null)));
        int world = worldSize();
        for (int g = 0; g < world; g++)
            items.add(new Item("rerun_state_machine_state/shard_" + g + "_" + world, g, List.of(rerunState())));
    }

    private PyDict rngState(int position) {
        SplittableRandom r = new SplittableRandom(1234 + position);
        List<Object> mt = new ArrayList<>(625);
        for (int i = 0; i < 624; i++) mt.add((long) r.nextInt() & 0xFFFFFFFFL);
        mt.add(624L);
        byte[] cpu = new byte[5056];
        r.nextBytes(cpu);
        byte[] cuda = new byte[16];
        r.nextBytes(cuda);
        PyDict tracker = dict("model-parallel-rng", new TorchSaveWriter.SmallTensor(DType.UINT8, new long[]{16}, cuda.clone()));
        return dict("random_rng_state", PyTuple.of(3L, new PyTuple(mt), null),
                "torch_rng_state", new TorchSaveWriter.SmallTensor(DType.UINT8, new long[]{cpu.length}, cpu),
                "cuda_rng_state", new TorchSaveWriter.SmallTensor(DType.UINT8, new long[]{16}, cuda),
                "rng_tracker_states", tracker);
    }

    private static PyDict rerunState() {
        return dict("rerun_requested", false, "checkpoint_requested", false, "restart_again_requested", false,
                "continue_requested", false,
                "error_injector_checkpoint", dict("error_injection_rate", 0L, "error_injection_type", "transient_error", "injected_error_type", null),
                "failed_validation_call", null, "initial_result", null, "suspicious_node", null, "suspicious_device", null,
                "data_iterator_checkpoints", null, "large_value_counts", new PyDict(), "max_values", new PyDict());
    }

    /**
     * The common state Megatron core ≥ 0.19 saves as {@code common_state/shard_0_1}: an {@code argparse.Namespace}
     * of the architecture and run args (builtins and torch dtypes only, so no Megatron import is needed to load it),
     * iteration, {@code checkpoint_version} 3.0 and {@code content_metadata}.
     */
    PyDict commonState() {
        PyDict a = dict(
                "num_layers", (long) m.layers(), "hidden_size", m.hidden(), "ffn_hidden_size", m.ffn(),
                "num_attention_heads", m.heads(), "group_query_attention", m.groups() != m.heads(),
                "num_query_groups", m.groups(), "kv_channels", m.kvChannels(),
                "vocab_size", m.vocab(), "padded_vocab_size", m.vocab(), "make_vocab_size_divisible_by", 128L,
                "max_position_embeddings", m.maxPositions(), "seq_length", Math.min(2048L, m.maxPositions()),
                "normalization", "RMSNorm", "layernorm_epsilon", 1e-5, "position_embedding_type", "rope",
                "rotary_base", (long) m.rotaryBase(), "rotary_percent", 1.0, "use_rope_scaling", false, "swiglu", true,
                "untie_embeddings_and_output_weights", true, "add_bias_linear", false, "add_qkv_bias", false,
                "qk_layernorm", false, "num_experts", null, "init_method_std", 0.02,
                "params_dtype", fp32Weights ? DType.FLOAT32 : DType.BFLOAT16, "bf16", !fp32Weights, "fp16", false,
                "tensor_model_parallel_size", (long) tp, "pipeline_model_parallel_size", (long) pp,
                "context_parallel_size", 1L, "expert_model_parallel_size", 1L, "data_parallel_size", (long) dp,
                "world_size", (long) worldSize(), "use_distributed_optimizer", optimizer != Optimizer.NONE,
                "dist_ckpt_optim_fully_reshardable", optimizer == Optimizer.FULLY_RESHARDABLE,
                "overlap_grad_reduce", bucketSize > 0, "ddp_bucket_size", bucketSize > 0 ? bucketSize : null,
                "no_save_optim", optimizer == Optimizer.NONE ? true : null,
                "ckpt_format", "torch_dist", "transformer_impl", "local", "tokenizer_type", "NullTokenizer",
                "micro_batch_size", 1L, "global_batch_size", (long) dp, "train_iters", iteration, "iteration", iteration,
                "lr", 3e-4, "min_lr", 3e-5, "seed", 1234L, "synthetic_checkpoint", true);
        PyObject args = new PyObject(new PyGlobal("argparse", "Namespace"), PyTuple.EMPTY, null, PyObject.Origin.NEWOBJ);
        args.setState(a);
        PyDict common = dict("args", args, "checkpoint_version", 3.0, "iteration", iteration);
        if (optimizer != Optimizer.NONE) common.put("optimizer", dict("param_state_sharding_type", optimizer.megatronName()));
        common.put("opt_param_scheduler", dict("max_lr", 3e-4, "lr_warmup_steps", 0L, "num_steps", iteration * dp,
                "lr_decay_style", "cosine", "lr_decay_steps", iteration * dp, "min_lr", 3e-5, "start_wd", 0.1,
                "end_wd", 0.1, "wd_incr_style", "constant", "wd_incr_steps", iteration * dp));
        common.put("num_floating_point_operations_so_far", 0.0);
        if (optimizer != Optimizer.NONE)
            common.put("content_metadata", dict("distrib_optim_sharding_type", optimizer.megatronName(),
                    "singleton_local_shards", false, "chained_optim_avoid_prefix", true));
        return common;
    }

    static PyDict dict(Object... kv) {
        PyDict d = new PyDict();
        for (int i = 0; i < kv.length; i += 2) d.put(kv[i], kv[i + 1]);
        return d;
    }

    static long roundUp(long v, long m) {
        return (v + m - 1) / m * m;
    }

    static long lcm(long a, long b) {
        long x = a, y = b;
        while (y != 0) {
            long t = x % y;
            x = y;
            y = t;
        }
        return a / x * b;
    }
}
