package ckpt.format.pickle;

/**
 * A {@code numpy.dtype} as pickled: {@code REDUCE(numpy.dtype, ('u4', False, True))} then
 * {@code BUILD (3, '<', subarray, names, fields, elsize, alignment, flags[, metadata])}. Only the type string and
 * the byte order are kept; structured dtypes keep their base string (e.g. {@code V16}).
 */
public final class NumpyDtype implements Buildable {
    private final String typeCode;
    private String byteOrder = "=";

    public NumpyDtype(String typeCode) {
        this.typeCode = typeCode;
    }

    /** The constructor argument, e.g. {@code u4}, {@code f8}, {@code b1}. */
    public String typeCode() {
        return typeCode;
    }

    /** {@code <}, {@code >}, {@code |} (not applicable) or {@code =} (native: no BUILD seen). */
    public String byteOrder() {
        return byteOrder;
    }

    /** numpy's {@code dtype.str}, e.g. {@code <u4}, {@code |b1}. */
    public String str() {
        return byteOrder + typeCode;
    }

    @Override
    public void build(Object state) {
        if (!(state instanceof PyTuple t) || t.size() < 2 || !(t.get(1) instanceof String order)) {
            throw new IllegalArgumentException("numpy.dtype state is not (version, byteorder, …): " + state);
        }
        if (!order.equals("<") && !order.equals(">") && !order.equals("|") && !order.equals("=")) {
            throw new IllegalArgumentException("numpy.dtype byte order '" + ckpt.format.InputText.excerpt(String.valueOf(order)) + "' is not one of < > | =");
        }
        byteOrder = order;
    }

    @Override
    public String toString() {
        return "dtype('" + str() + "')";
    }
}
