package ckpt.engine.nd4j;

import ckpt.format.tensor.DType;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.javacpp.indexer.Bfloat16Indexer;
import org.bytedeco.javacpp.indexer.ByteIndexer;
import org.bytedeco.javacpp.indexer.DoubleIndexer;
import org.bytedeco.javacpp.indexer.FloatIndexer;
import org.bytedeco.javacpp.indexer.HalfIndexer;
import org.bytedeco.javacpp.indexer.Indexer;
import org.bytedeco.javacpp.indexer.IntIndexer;
import org.bytedeco.javacpp.indexer.LongIndexer;
import org.bytedeco.javacpp.indexer.ShortIndexer;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.lang.foreign.MemorySegment;
import java.util.Optional;

/**
 * ND4J arrays that are views of the caller's memory. {@code Nd4j.createBuffer(ByteBuffer…)} copies, takes an
 * {@code int} length and mishandles BFLOAT16 (measured), so buffers are made from a JavaCPP pointer at the segment's
 * address with the element type's indexer: ND4J then reads and writes the caller's bytes in place and never frees
 * them (the pointer has no deallocator).
 */
final class NativeArrays {
    private NativeArrays() {
    }

    /** A JavaCPP pointer at an address it does not own. */
    private static final class Address extends Pointer {
        Address(MemorySegment s) {
            address = s.address();
            position = 0;
            limit = s.byteSize();
            capacity = s.byteSize();
        }
    }

    /** ND4J's type for a ckpt float dtype that it casts (fp64/fp32/fp16/bf16), else empty. */
    static Optional<DataType> floatType(DType d) {
        return Optional.ofNullable(switch (d) {
            case FLOAT64 -> DataType.DOUBLE;
            case FLOAT32 -> DataType.FLOAT;
            case FLOAT16 -> DataType.FLOAT16;
            case BFLOAT16 -> DataType.BFLOAT16;
            default -> null;
        });
    }

    /** An integer type of {@code d}'s width, so that a same-dtype copy moves the bits untouched; empty for 16 bytes. */
    static Optional<DataType> rawType(DType d) {
        return Optional.ofNullable(switch (d.byteSize()) {
            case 1 -> DataType.INT8;
            case 2 -> DataType.INT16;
            case 4 -> DataType.INT32;
            case 8 -> DataType.INT64;
            default -> null;
        });
    }

    /**
     * The row-major {@code shape} view at element {@code offset} with row-major {@code strides} of the whole segment
     * {@code s} read as {@code type}.
     */
    static INDArray view(MemorySegment s, DataType type, long[] shape, long[] strides, long offset) {
        if (shape.length == 0) { // ND4J scalars carry no strides: a 1-element vector moves the same bytes
            shape = new long[]{1};
            strides = new long[]{1};
        }
        return Nd4j.create(buffer(s, type), shape, strides, offset, 'c', type);
    }

    @SuppressWarnings("deprecation") // HALF: a switch label needs the constant, FLOAT16 is its alias
    private static DataBuffer buffer(MemorySegment s, DataType type) {
        long n = s.byteSize() / type.width();
        Pointer at = new Address(s);
        Pointer p;
        Indexer ix;
        switch (type) {
            case DOUBLE -> { DoublePointer d = new DoublePointer(at); p = d; ix = DoubleIndexer.create(d.capacity(n)); }
            case FLOAT -> { FloatPointer f = new FloatPointer(at); p = f; ix = FloatIndexer.create(f.capacity(n)); }
            case HALF -> { ShortPointer h = new ShortPointer(at); p = h; ix = HalfIndexer.create(h.capacity(n)); }
            case BFLOAT16 -> { ShortPointer b = new ShortPointer(at); p = b; ix = Bfloat16Indexer.create(b.capacity(n)); }
            case BYTE -> { BytePointer b = new BytePointer(at); p = b; ix = ByteIndexer.create(b.capacity(n)); }
            case SHORT -> { ShortPointer h = new ShortPointer(at); p = h; ix = ShortIndexer.create(h.capacity(n)); }
            case INT -> { IntPointer i = new IntPointer(at); p = i; ix = IntIndexer.create(i.capacity(n)); }
            case LONG -> { LongPointer l = new LongPointer(at); p = l; ix = LongIndexer.create(l.capacity(n)); }
            default -> throw new IllegalArgumentException("no view for " + type);
        }
        p.capacity(n).limit(n);
        return Nd4j.createBuffer(p, type, n, ix);
    }
}
