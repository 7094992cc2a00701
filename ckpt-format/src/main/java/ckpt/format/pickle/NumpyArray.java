package ckpt.format.pickle;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A {@code numpy.ndarray} as pickled: {@code REDUCE(numpy…multiarray._reconstruct, (ndarray, (0,), b'b'))} makes an
 * empty array, then {@code BUILD (version, shape, dtype, is_fortran, raw)} fills it (it is memoized before the
 * BUILD, hence mutable). {@code raw} is the element bytes; for object arrays ({@code |O}) it is a list of values,
 * kept in {@link #objects()}.
 */
public final class NumpyArray implements Buildable {
    private String dtype = "|u1";
    private long[] shape = {0};
    private byte[] data = new byte[0];
    private boolean fortranOrder;
    private List<Object> objects;

    /** numpy {@code dtype.str}, e.g. {@code <u4}. */
    public String dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    /** Raw element bytes in the byte order of {@link #dtype()}; empty for object arrays. */
    public byte[] data() {
        return data;
    }

    public boolean fortranOrder() {
        return fortranOrder;
    }

    /** The elements of an object array ({@code |O}), else null. */
    public List<Object> objects() {
        return objects;
    }

    @Override
    public void build(Object state) {
        if (!(state instanceof PyTuple t)) throw new IllegalArgumentException("ndarray state is not a tuple: " + state);
        List<Object> s = t.items();
        // numpy writes (version, shape, dtype, is_fortran, raw); very old pickles omit the version.
        if (s.size() == 5) s = s.subList(1, 5);
        if (s.size() != 4) throw new IllegalArgumentException("ndarray state has " + t.size() + " fields, expected 4 or 5");
        if (!(s.get(0) instanceof PyTuple shapeTuple)) throw new IllegalArgumentException("ndarray shape is not a tuple");
        long[] dims = new long[shapeTuple.size()];
        for (int i = 0; i < dims.length; i++) {
            if (!(shapeTuple.get(i) instanceof Long d) || d < 0) {
                throw new IllegalArgumentException("ndarray shape entry is not a non-negative int: " + shapeTuple.get(i));
            }
            dims[i] = d;
        }
        if (!(s.get(1) instanceof NumpyDtype dt)) throw new IllegalArgumentException("ndarray dtype is not a numpy.dtype");
        if (!(s.get(2) instanceof Boolean fortran)) throw new IllegalArgumentException("ndarray is_fortran is not a bool");
        Object raw = s.get(3);
        if (raw instanceof PyBytes b) {
            data = b.data();
            objects = null;
        } else if (raw instanceof String str) { // Python 2 pickles: a latin-1 str
            data = PickleText.latin1(str);
            objects = null;
        } else if (raw instanceof List<?> list) {
            data = new byte[0];
            objects = new ArrayList<>(list);
        } else {
            throw new IllegalArgumentException("ndarray data is neither bytes nor a list");
        }
        shape = dims;
        dtype = dt.str();
        fortranOrder = fortran;
    }

    @Override
    public String toString() {
        return "ndarray(" + dtype + ", " + Arrays.toString(shape) + ")";
    }
}
