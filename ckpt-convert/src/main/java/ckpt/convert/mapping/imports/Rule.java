package ckpt.convert.mapping.imports;

import ckpt.convert.mapping.QkvSplit;
import ckpt.convert.plan.CopyItem;
import ckpt.convert.plan.OutputTensor;
import ckpt.convert.plan.TensorSlice;
import ckpt.format.FormatException;
import ckpt.format.tensor.Box;
import ckpt.format.tensor.DType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How one Megatron tensor (of one layer, one expert, or global) is made of Hugging Face tensors, as data: the inverse
 * of the Megatron → HF rules in {@code ckpt.convert.mapping} (MAPPING.md §2), and that direction too ({@link #toHf}).
 * Towards Megatron a rule yields the tensor's shape and the box copies that fill it, in its own coordinates (sharding
 * cuts them per rank later); towards HF, the HF tensors as slices of the Megatron tensor.
 */
public sealed interface Rule {
    /** A Megatron tensor as HF tensors fill it. */
    record Filled(long[] shape, DType dtype, List<CopyItem> items) {
    }

    Filled toMegatron(HfTensors hf, Position at);

    /**
     * The inverse: the HF tensors this rule reads, each filled from slices of one instance {@code m} of the Megatron
     * tensor (the Megatron → HF direction, MAPPING.md §2).
     */
    List<OutputTensor> toHf(TensorSlice m, Position at);

    /** The same tensor under another name. */
    record Rename(String hf) implements Rule {
        @Override
        public Filled toMegatron(HfTensors hf, Position at) {
            TensorSlice s = hf.require(hf(), at);
            return new Filled(s.shape(), s.dtype(), List.of(new CopyItem(s, Box.whole(s.shape()), false)));
        }

        @Override
        public List<OutputTensor> toHf(TensorSlice m, Position at) {
            return List.of(OutputTensor.of(HfTensors.bind(hf, at), m));
        }
    }

    /** HF Conv1D {@code [in, out]} → Megatron linear {@code [out, in]}. */
    record Transpose(String hf) implements Rule {
        @Override
        public Filled toMegatron(HfTensors hf, Position at) {
            TensorSlice s = hf.require(hf(), at);
            if (s.rank() != 2) throw new FormatException(hf.index().path(), "key " + s.key(), "is not 2-d");
            long[] shape = {s.dim(1), s.dim(0)};
            return new Filled(shape, s.dtype(), List.of(new CopyItem(s, Box.whole(shape), true)));
        }

        @Override
        public List<OutputTensor> toHf(TensorSlice m, Position at) {
            return List.of(OutputTensor.transposed(HfTensors.bind(hf, at), List.of(m)));
        }
    }

    /**
     * q, k, v merged into mcore's fused {@code linear_qkv} (MAPPING.md §2.1, inverse): group {@code j}'s block of
     * {@code (p+2)·d} rows is {@code [q heads jp…jp+p-1, k_j, v_j]}, {@code p = heads/groups}. Works for weights and
     * biases (the rows are the first axis).
     */
    record QkvMerge(String q, String k, String v, long heads, long groups, long headDim) implements Rule {
        @Override
        public Filled toMegatron(HfTensors hf, Position at) {
            TensorSlice qs = hf.require(q, at), ks = hf.require(k, at), vs = hf.require(v, at);
            long p = heads / groups, d = headDim;
            expectRows(hf, qs, heads * d);
            expectRows(hf, ks, groups * d);
            expectRows(hf, vs, groups * d);
            for (TensorSlice x : List.of(ks, vs))
                if (!Arrays.equals(Arrays.copyOfRange(x.shape(), 1, x.rank()), Arrays.copyOfRange(qs.shape(), 1, qs.rank())))
                    throw new FormatException(hf.index().path(), "key " + x.key(), "has shape " + Arrays.toString(x.shape())
                            + ", its q_proj " + Arrays.toString(qs.shape()) + ": the columns differ");
            long[] shape = qs.shape();
            shape[0] = (heads + 2 * groups) * d;
            List<CopyItem> items = new ArrayList<>();
            for (long j = 0; j < groups; j++) {
                long base = j * (p + 2) * d;
                items.add(rows(qs.narrow(0, j * p * d, p * d), base));
                items.add(rows(ks.narrow(0, j * d, d), base + p * d));
                items.add(rows(vs.narrow(0, j * d, d), base + (p + 1) * d));
            }
            return new Filled(shape, qs.dtype(), items);
        }

        @Override
        public List<OutputTensor> toHf(TensorSlice m, Position at) {
            QkvSplit split = QkvSplit.of(m, heads, groups, headDim);
            return List.of(OutputTensor.concat(HfTensors.bind(q, at), split.q()), OutputTensor.concat(HfTensors.bind(k, at), split.k()),
                    OutputTensor.concat(HfTensors.bind(v, at), split.v()));
        }
    }

    /**
     * GPT-2's fused {@code c_attn} ({@code [q; k; v]} over all heads, Conv1D {@code [in, 3·h]} for the weight) into
     * mcore's per-head interleaved {@code linear_qkv}: head {@code j}'s q, k, v land at rows {@code 3jd}, {@code +d},
     * {@code +2d}.
     */
    record FusedQkv(String hf, long heads, long headDim, boolean conv1d) implements Rule {
        @Override
        public Filled toMegatron(HfTensors hf, Position at) {
            TensorSlice s = hf.require(hf(), at);
            long d = headDim, h = heads * d;
            int axis = conv1d ? 1 : 0;
            if (s.rank() != (conv1d ? 2 : 1) || s.dim(axis) != 3 * h)
                throw new FormatException(hf.index().path(), "key " + s.key(), "of shape " + Arrays.toString(s.shape())
                        + " is not a fused q/k/v of " + heads + " heads × " + d);
            long[] shape = conv1d ? new long[]{3 * h, s.dim(0)} : new long[]{3 * h};
            List<CopyItem> items = new ArrayList<>();
            for (long j = 0; j < heads; j++)
                for (int part = 0; part < 3; part++) {
                    TensorSlice src = s.narrow(axis, part * h + j * d, d);
                    long row = 3 * j * d + part * d;
                    items.add(conv1d ? new CopyItem(src, new Box(new long[]{row, 0}, new long[]{d, s.dim(0)}), true) : rows(src, row));
                }
            return new Filled(shape, s.dtype(), items);
        }

        @Override
        public List<OutputTensor> toHf(TensorSlice m, Position at) {
            if (conv1d && (m.rank() != 2 || m.dim(1) != heads * headDim))
                throw new IllegalArgumentException(m.key() + ": linear_qkv of shape " + Arrays.toString(m.shape())
                        + " does not have hidden_size " + heads * headDim + " columns");
            List<TensorSlice> parts = QkvSplit.of(m, heads, heads, headDim).concatenated();
            String name = HfTensors.bind(hf, at);
            return List.of(conv1d ? OutputTensor.transposed(name, parts) : OutputTensor.concat(name, parts));
        }
    }

    /** SwiGLU {@code [gate; up]} (MAPPING.md §2.2, inverse): gate rows first, then up rows. */
    record GluMerge(String gate, String up) implements Rule {
        @Override
        public Filled toMegatron(HfTensors hf, Position at) {
            TensorSlice g = hf.require(gate, at), u = hf.require(up, at);
            if (!Arrays.equals(g.shape(), u.shape()))
                throw new FormatException(hf.index().path(), "key " + u.key(), "has shape " + Arrays.toString(u.shape()) + ", its gate " + Arrays.toString(g.shape()));
            long[] shape = g.shape();
            shape[0] *= 2;
            return new Filled(shape, g.dtype(), List.of(rows(g, 0), rows(u, g.dim(0))));
        }

        @Override
        public List<OutputTensor> toHf(TensorSlice m, Position at) {
            long f = m.dim(0) / 2;
            return List.of(OutputTensor.of(HfTensors.bind(gate, at), m.rows(0, f)), OutputTensor.of(HfTensors.bind(up, at), m.rows(f, f)));
        }
    }

    /**
     * Embedding / output rows: HF's {@code vocabRows} padded to Megatron's {@code paddedRows} (MAPPING.md §2.4). The
     * padding rows are zeros: no token id reaches an embedding padding row, and a zero output row gives a padded id
     * logit 0, which Megatron's loss never targets. Towards HF the padding rows are trimmed.
     */
    record VocabPad(String hf, long vocabRows, long paddedRows) implements Rule {
        @Override
        public Filled toMegatron(HfTensors hf, Position at) {
            TensorSlice s = hf.require(hf(), at);
            if (s.rank() != 2 || s.dim(0) != vocabRows || vocabRows > paddedRows)
                throw new FormatException(hf.index().path(), "key " + s.key(), "of shape " + Arrays.toString(s.shape())
                        + " does not fit a padded vocabulary of " + paddedRows + " rows");
            long[] shape = {paddedRows, s.dim(1)};
            List<CopyItem> items = new ArrayList<>();
            items.add(rows(s, 0));
            if (paddedRows > s.dim(0))
                items.add(CopyItem.zeros(new Box(new long[]{s.dim(0), 0}, new long[]{paddedRows - s.dim(0), s.dim(1)})));
            return new Filled(shape, s.dtype(), items);
        }

        @Override
        public List<OutputTensor> toHf(TensorSlice m, Position at) {
            if (m.rank() != 2 || m.dim(0) < vocabRows)
                throw new IllegalArgumentException(m.key() + ": fewer than " + vocabRows + " vocabulary rows");
            return List.of(OutputTensor.of(HfTensors.bind(hf, at), m.rows(0, vocabRows)));
        }
    }

    private static void expectRows(HfTensors hf, TensorSlice s, long rows) {
        if (s.rank() < 1 || s.dim(0) != rows)
            throw new FormatException(hf.index().path(), "key " + s.key(), "has shape " + Arrays.toString(s.shape()) + ", expected " + rows + " rows");
    }

    /** The whole slice at row {@code row} of the destination. */
    private static CopyItem rows(TensorSlice s, long row) {
        long[] o = new long[s.rank()];
        o[0] = row;
        return new CopyItem(s, new Box(o, s.shape()), false);
    }
}
