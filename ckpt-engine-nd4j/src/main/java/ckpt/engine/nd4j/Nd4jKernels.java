package ckpt.engine.nd4j;

import ckpt.convert.exec.CopyBoxKernels;
import ckpt.convert.exec.TensorKernels;
import ckpt.format.tensor.DType;
import ckpt.format.tensor.Shapes;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@link TensorKernels} on ND4J. {@link #copyBox} runs as one ND4J {@code assign} from a view of the scratch block
 * into a strided (and, for a transpose, axis-swapped) view of the destination, in place: same-dtype copies as
 * integers of the element width (the bits move untouched), casts between fp64/fp32/fp16/bf16 as ND4J's own casts —
 * but only those casts {@link CastProbe} found byte-identical to the java engine's; the others, and everything
 * {@code gather}/{@code fillZero} do (reads out of stored pieces, memset), run on {@link TensorKernels#CPU}. Each cast
 * that fell back is named once in {@link #notes()} with the reason.
 */
final class Nd4jKernels implements CopyBoxKernels {
    private final Map<CastProbe.Cast, String> inexact;
    private final Set<CastProbe.Cast> fellBack = ConcurrentHashMap.newKeySet();

    Nd4jKernels() {
        this.inexact = CastProbe.inexactCasts();
    }

    @Override
    public void copyBox(MemorySegment src, DType sd, long[] srcShape, MemorySegment dst, DType dd, long[] dstShape,
                        long[] dstOffsets, boolean transpose) {
        if (transpose && (srcShape.length != 2 || dstShape.length != 2))
            throw new IllegalArgumentException("transpose needs 2-d blocks");
        if (Shapes.numel(srcShape) == 0) return;
        Optional<DataType[]> types = types(sd, dd);
        if (types.isEmpty()) {
            CPU.copyBox(src, sd, srcShape, dst, dd, dstShape, dstOffsets, transpose);
            return;
        }
        DataType st = types.get()[0], dt = types.get()[1];
        INDArray from = NativeArrays.view(src, st, srcShape, Shapes.contiguousStrides(srcShape), 0);
        if (transpose) from = from.transpose();
        long[] strides = Shapes.contiguousStrides(dstShape);
        long offset = 0;
        for (int i = 0; i < dstShape.length; i++) offset += dstOffsets[i] * strides[i];
        INDArray to = NativeArrays.view(dst, dt, transpose ? new long[]{srcShape[1], srcShape[0]} : srcShape, strides, offset);
        to.assign(from);
    }

    /** ND4J's source and destination types for the copy, or empty when it goes to the java kernels. */
    private Optional<DataType[]> types(DType sd, DType dd) {
        if (sd == dd) return NativeArrays.rawType(sd).map(t -> new DataType[]{t, t});
        CastProbe.Cast c = new CastProbe.Cast(sd, dd);
        Optional<DataType> s = NativeArrays.floatType(sd), d = NativeArrays.floatType(dd);
        if (s.isEmpty() || d.isEmpty() || inexact.containsKey(c)) {
            fellBack.add(c);
            return Optional.empty();
        }
        return Optional.of(new DataType[]{s.get(), d.get()});
    }

    @Override
    public List<String> notes() {
        List<String> out = new ArrayList<>();
        for (CastProbe.Cast c : fellBack.stream().sorted().toList()) {
            String why = inexact.getOrDefault(c, "ND4J has no cast between these types");
            out.add(c + " casts ran on the java kernels: " + why);
        }
        return out;
    }
}
