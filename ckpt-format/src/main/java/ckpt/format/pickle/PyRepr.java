package ckpt.format.pickle;

import ckpt.format.InputText;
import ckpt.format.tensor.DType;

import java.math.BigInteger;
import java.util.List;

/**
 * Unpickled values as Python would name and print them, for error messages: Python's type names (never a Java class
 * name) and a short repr, capped like all input text quoted into errors ({@link InputText}).
 */
public final class PyRepr {
    private PyRepr() {
    }

    /** Python's name for the type of {@code v}: "int", "str", "tuple", "collections.OrderedDict", … */
    public static String typeName(Object v) {
        if (v == null) return "None";
        if (v instanceof Boolean) return "bool";
        if (v instanceof Long || v instanceof BigInteger) return "int";
        if (v instanceof Double) return "float";
        if (v instanceof String) return "str";
        if (v instanceof PyBytes b) return b.mutable() ? "bytearray" : "bytes";
        if (v instanceof List<?>) return "list";
        if (v instanceof PyTuple) return "tuple";
        if (v instanceof PyDict d) return d.type() == null ? "dict" : d.type().toString();
        if (v instanceof PySet s) return s.frozen() ? "frozenset" : "set";
        if (v instanceof PyGlobal g) return "global " + g;
        if (v instanceof PyObject o) return o.type() + " object";
        if (v instanceof DType) return "torch.dtype";
        if (v instanceof TorchSize) return "torch.Size";
        return "object"; // a value of ours without a Python name: never a Java class name in a message
    }

    /** A short repr: scalars as Python prints them (strings quoted, capped), anything else by its type name. */
    public static String repr(Object v) {
        if (v == null) return "None";
        if (v instanceof Boolean b) return b ? "True" : "False";
        if (v instanceof Long || v instanceof BigInteger) return InputText.excerpt(v.toString());
        if (v instanceof Double d) return d.isNaN() ? "nan" : d.isInfinite() ? (d > 0 ? "inf" : "-inf") : d.toString();
        if (v instanceof String s) return "'" + InputText.excerpt(s) + "'";
        if (v instanceof TorchSize s) return InputText.excerpt(s.toString());
        return "a " + typeName(v);
    }
}
