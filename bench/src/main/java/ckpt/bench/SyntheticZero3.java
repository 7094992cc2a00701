package ckpt.bench;

import ckpt.convert.index.FlatRanges;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyGlobal;
import ckpt.format.pickle.PyObject;
import ckpt.format.pickle.PyTuple;
import ckpt.format.pickle.TorchSize;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;
import ckpt.format.tensor.Shapes;
import ckpt.format.torchsave.TorchSaveWriter;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a synthetic DeepSpeed ZeRO-3 bf16 checkpoint of a Hugging Face Llama model, laid out as DeepSpeed 0.14.5's
 * {@code DeepSpeedZeroOptimizer_Stage3} saves it (one sub-group): per rank, {@code zero_pp_rank_R_mp_rank_00_
 * model_states.pt} (empty bf16 placeholders in {@code module}, {@code param_shapes}, config) and
 * {@code bf16_zero_pp_rank_R_mp_rank_00_optim_states.pt} ({@code fp32_flat_groups} — rank R's
 * {@code ceil(numel / world)} elements of every parameter in order, zero-padded — and Adam's {@code exp_avg} /
 * {@code exp_avg_sq} over the same flat vector), plus {@code latest}. Values are {@link Values}' deterministic streams;
 * {@code reference-sha256.json} holds the sha256 of every parameter's fp32 master as {@code zero_to_fp32} must
 * rebuild it (computed from the streams, not from the files).
 *
 * <pre>
 * java -cp bench/target/ckpt-bench.jar ckpt.bench.SyntheticZero3 --out /data/z3 --shape llama3-8b --layers 2 --vocab 32000 --world-size 8
 * </pre>
 * (Llama-3-8B layers, two of them, vocab 32,000: 0.70 B parameters, 12 B each on disk = 8.4 GB over 8 ranks.)
 */
public final class SyntheticZero3 {
    static final String TAG_PREFIX = "global_step";
    static final String REFERENCE = "reference-sha256.json";

    record Options(ModelShape shape, int worldSize, long step, long seed, Path out) {
    }

    record Param(String name, long[] shape, Values.Kind kind) {
        long numel() {
            return Shapes.numel(shape);
        }
    }

    static final String USAGE = """
            usage: SyntheticZero3 --out DIR [--shape tiny|llama3-8b|llama3-70b|llama3-405b] [--layers N] [--vocab N]
                     [--world-size N] [--step N] [--seed N]""";

    public static void main(String[] argv) throws IOException {
        Options o;
        try {
            o = parse(argv);
        } catch (IllegalArgumentException e) {
            System.err.println("synthetic-zero3: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        long t0 = System.nanoTime();
        long bytes = write(o);
        System.out.printf(Locale.ROOT, "wrote %s: %,d bytes, %d ranks, %,d parameters in %.1fs%n", o.out(), bytes,
                o.worldSize(), params(o.shape()).stream().mapToLong(Param::numel).sum(), (System.nanoTime() - t0) / 1e9);
    }

    static Options parse(String[] argv) {
        ModelShape shape = ModelShape.named("tiny");
        Integer layers = null;
        Long vocab = null;
        int ws = 2;
        long step = 4, seed = 1234;
        Path out = null;
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            if (a.equals("-h") || a.equals("--help")) throw new IllegalArgumentException("help");
            if (i + 1 >= argv.length) throw new IllegalArgumentException(a + " needs a value");
            String v = argv[++i];
            switch (a) {
                case "--shape" -> shape = ModelShape.named(v);
                case "--layers" -> layers = Integer.parseInt(v);
                case "--vocab" -> vocab = Long.parseLong(v);
                case "--world-size" -> ws = Integer.parseInt(v);
                case "--step" -> step = Long.parseLong(v);
                case "--seed" -> seed = Long.parseLong(v);
                case "--out" -> out = Path.of(v);
                default -> throw new IllegalArgumentException("unknown option " + a);
            }
        }
        if (out == null) throw new IllegalArgumentException("--out is required");
        if (ws < 1) throw new IllegalArgumentException("--world-size must be positive");
        if (layers != null) shape = shape.withLayers(layers);
        if (vocab != null) shape = new ModelShape(shape.name(), shape.layers(), shape.hidden(), shape.ffn(), shape.heads(),
                shape.groups(), shape.kvChannels(), vocab, shape.maxPositions(), shape.rotaryBase());
        return new Options(shape, ws, step, seed, out);
    }

    /** The parameters of {@code LlamaForCausalLM} in {@code named_parameters()} order (untied). */
    static List<Param> params(ModelShape s) {
        long h = s.hidden(), q = s.heads() * s.kvChannels(), kv = s.groups() * s.kvChannels();
        List<Param> out = new ArrayList<>();
        out.add(new Param("model.embed_tokens.weight", new long[]{s.vocab(), h}, Values.Kind.MAIN_PARAM));
        for (int l = 0; l < s.layers(); l++) {
            String p = "model.layers." + l + ".";
            out.add(new Param(p + "self_attn.q_proj.weight", new long[]{q, h}, Values.Kind.MAIN_PARAM));
            out.add(new Param(p + "self_attn.k_proj.weight", new long[]{kv, h}, Values.Kind.MAIN_PARAM));
            out.add(new Param(p + "self_attn.v_proj.weight", new long[]{kv, h}, Values.Kind.MAIN_PARAM));
            out.add(new Param(p + "self_attn.o_proj.weight", new long[]{h, q}, Values.Kind.MAIN_PARAM));
            out.add(new Param(p + "mlp.gate_proj.weight", new long[]{s.ffn(), h}, Values.Kind.MAIN_PARAM));
            out.add(new Param(p + "mlp.up_proj.weight", new long[]{s.ffn(), h}, Values.Kind.MAIN_PARAM));
            out.add(new Param(p + "mlp.down_proj.weight", new long[]{h, s.ffn()}, Values.Kind.MAIN_PARAM));
            out.add(new Param(p + "input_layernorm.weight", new long[]{h}, Values.Kind.MAIN_PARAM));
            out.add(new Param(p + "post_attention_layernorm.weight", new long[]{h}, Values.Kind.MAIN_PARAM));
        }
        out.add(new Param("model.norm.weight", new long[]{h}, Values.Kind.MAIN_PARAM));
        out.add(new Param("lm_head.weight", new long[]{s.vocab(), h}, Values.Kind.MAIN_PARAM));
        return out;
    }

    /** Writes the checkpoint; returns the bytes written. */
    static long write(Options o) throws IOException {
        Values values = new Values(o.seed());
        List<Param> params = params(o.shape());
        int ws = o.worldSize();
        long flat = 0;
        for (Param p : params) flat = Math.addExact(flat, Math.ceilDiv(p.numel(), ws));
        String tag = TAG_PREFIX + o.step();
        Path dir = o.out().resolve(tag);
        Files.createDirectories(dir);
        long bytes = 0;
        for (int r = 0; r < ws; r++) {
            bytes += modelStates(dir.resolve(String.format("zero_pp_rank_%d_mp_rank_00_model_states.pt", r)), params, o);
            bytes += optimStates(dir.resolve(String.format("bf16_zero_pp_rank_%d_mp_rank_00_optim_states.pt", r)), params, o, r, flat, values);
        }
        Map<String, Object> ref = new LinkedHashMap<>();
        for (Param p : params) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("dtype", "float32");
            e.put("shape", p.shape());
            e.put("sha256", values.sha256(p.name(), Values.Kind.MAIN_PARAM, p.shape()));
            ref.put(p.name(), e);
        }
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(o.out().resolve(REFERENCE).toFile(), ref);
        // DeepSpeed's rank 0 writes the tracker after every rank saved.
        Files.writeString(o.out().resolve("latest"), tag);
        return bytes;
    }

    private static PyDict ordered() {
        return new PyDict(new PyGlobal("collections", "OrderedDict"));
    }

    private static Map<String, Object> dsConfig(int ws) {
        Map<String, Object> zero = new LinkedHashMap<>();
        zero.put("stage", 3L);
        Map<String, Object> bf16 = new LinkedHashMap<>();
        bf16.put("enabled", true);
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("train_micro_batch_size_per_gpu", 1L);
        c.put("train_batch_size", (long) ws);
        c.put("zero_optimization", zero);
        c.put("bf16", bf16);
        return c;
    }

    private static long modelStates(Path file, List<Param> params, Options o) throws IOException {
        PyDict module = ordered();
        PyDict shapes = ordered();
        for (Param p : params) {
            // ZeRO-3 keeps an empty placeholder in the module; the data live in the optimizer's flat partitions.
            module.put(p.name(), new TorchSaveWriter.SmallTensor(DType.BFLOAT16, new long[]{0}, new byte[0]));
            shapes.put(p.name(), new TorchSize(p.shape()));
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("module", module);
        root.put("buffer_names", List.of());
        root.put("optimizer", null);
        root.put("param_shapes", List.of(shapes));
        root.put("frozen_param_shapes", ordered());
        root.put("shared_params", new LinkedHashMap<>());
        root.put("frozen_param_fragments", ordered());
        root.put("lr_scheduler", null);
        root.put("sparse_tensor_module_names", new ckpt.format.pickle.PySet(false));
        root.put("skipped_steps", 0L);
        root.put("global_steps", o.step());
        root.put("global_samples", o.step() * o.worldSize());
        root.put("dp_world_size", (long) o.worldSize());
        root.put("mp_world_size", 1L);
        root.put("ds_config", dsConfig(o.worldSize()));
        root.put("ds_version", "0.14.5");
        try (TorchSaveWriter w = TorchSaveWriter.create(file)) {
            w.writeStructure(root);
            return w.finish();
        }
    }

    /** Package-private so tests can write a damaged rank file (a {@code flat} shorter than the layout needs). */
    static long optimStates(Path file, List<Param> params, Options o, int rank, long flat, Values values) throws IOException {
        try (TorchSaveWriter w = TorchSaveWriter.create(file)) {
            TorchSaveWriter.TensorRecord expAvg = w.tensor(DType.FLOAT32, new long[]{flat});
            TorchSaveWriter.TensorRecord expAvgSq = w.tensor(DType.FLOAT32, new long[]{flat});
            TorchSaveWriter.TensorRecord fp32 = w.tensor(DType.FLOAT32, new long[]{flat});
            Map<String, Object> state0 = new LinkedHashMap<>();
            byte[] step = new byte[4];
            int bits = Float.floatToRawIntBits((float) o.step());
            for (int i = 0; i < 4; i++) step[i] = (byte) (bits >>> (8 * i));
            state0.put("step", new TorchSaveWriter.SmallTensor(DType.FLOAT32, new long[0], step));
            state0.put("exp_avg", expAvg);
            state0.put("exp_avg_sq", expAvgSq);
            Map<Object, Object> state = new LinkedHashMap<>();
            state.put(0L, state0);
            Map<String, Object> group = new LinkedHashMap<>();
            group.put("lr", 1e-3);
            group.put("betas", PyTuple.of(0.9, 0.95));
            group.put("eps", 1e-8);
            group.put("weight_decay", 0.01);
            group.put("params", List.of(0L));
            Map<String, Object> base = new LinkedHashMap<>();
            base.put("state", state);
            base.put("param_groups", List.of(group));
            PyObject scaler = new PyObject(new PyGlobal("deepspeed.runtime.fp16.loss_scaler", "LossScaler"), PyTuple.EMPTY, null,
                    PyObject.Origin.NEWOBJ);
            PyDict scalerState = new PyDict();
            scalerState.put("cur_scale", 1.0);
            scalerState.put("dynamic", false);
            scaler.setState(scalerState);
            Map<String, Object> osd = new LinkedHashMap<>();
            osd.put("zero_stage", new PyObject(new PyGlobal("deepspeed.runtime.zero.config", "ZeroStageEnum"), PyTuple.of(3L), null,
                    PyObject.Origin.REDUCE));
            osd.put("loss_scaler", scaler);
            osd.put("dynamic_loss_scale", false);
            osd.put("overflow", false);
            osd.put("partition_count", (long) o.worldSize());
            osd.put("optimizer_state_dict", base);
            osd.put("fp32_flat_groups", List.of(fp32));
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("optimizer_state_dict", osd);
            root.put("ds_config", dsConfig(o.worldSize()));
            root.put("ds_version", "0.14.5");
            w.writeStructure(root);
            fill(w, expAvgSq, params, rank, o.worldSize(), values, Values.Kind.EXP_AVG_SQ);
            fill(w, expAvg, params, rank, o.worldSize(), values, Values.Kind.EXP_AVG);
            fill(w, fp32, params, rank, o.worldSize(), values, Values.Kind.MAIN_PARAM);
            return w.finish();
        }
    }

    /** Rank {@code rank}'s flat vector: its ceil(numel / ws) elements of each parameter, zero-padded, in order. */
    private static void fill(TorchSaveWriter w, TorchSaveWriter.TensorRecord t, List<Param> params, int rank, int ws,
                             Values values, Values.Kind kind) throws IOException {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment region = w.map(t, arena);
            long at = 0;
            long cap = t.shape()[0];
            for (Param p : params) {
                if (at + Math.ceilDiv(p.numel(), ws) > cap) { // a deliberately short partition (tests): zeros from here
                    region.asSlice(at * 4).fill((byte) 0);
                    break;
                }
                long n = p.numel(), part = Math.ceilDiv(n, ws);
                long first = Math.min(n, rank * part), held = Math.min(n, first + part) - first;
                long pos = at;
                for (Box b : FlatRanges.boxes(p.shape(), first, first + held)) {
                    long len = b.numel() * 4;
                    values.fill(p.name(), kind, p.shape(), b, region.asSlice(pos * 4, len));
                    pos += b.numel();
                }
                region.asSlice(pos * 4, (part - held) * 4).fill((byte) 0);
                at += part;
            }
            w.complete(t, region);
        }
    }
}
