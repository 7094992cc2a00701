package ckpt.format.pickle;

import java.util.ArrayList;
import java.util.List;

/**
 * An inert Python object: what {@code REDUCE(callable, args)}, {@code NEWOBJ(cls, args)}, {@code INST} or
 * {@code OBJ} would have built, had anything been executed. Nothing was: the class is only a name. BUILD state,
 * and items appended or set on it, are recorded so format code can read dataclasses, Namespaces and enums by
 * class name and field name. Equality is identity (Python objects without {@code __eq__}).
 */
public final class PyObject {
    /** How the object was made. */
    public enum Origin { REDUCE, NEWOBJ, INST }

    private final PyGlobal type;
    private final PyTuple args;
    private final PyDict kwargs;
    private final Origin origin;
    private Object state;
    private List<Object> listItems;
    private PyDict dictItems;

    public PyObject(PyGlobal type, PyTuple args, PyDict kwargs, Origin origin) {
        this.type = type;
        this.args = args;
        this.kwargs = kwargs;
        this.origin = origin;
    }

    public PyGlobal type() {
        return type;
    }

    public boolean is(String module, String name) {
        return type.is(module, name);
    }

    /** Matches the class name whatever module it lives in (DCP classes moved between torch releases). */
    public boolean isNamed(String name) {
        return type.name().equals(name);
    }

    public PyTuple args() {
        return args;
    }

    /** Keyword arguments of NEWOBJ_EX, or null. */
    public PyDict kwargs() {
        return kwargs;
    }

    public Origin origin() {
        return origin;
    }

    /** BUILD state as pickled: a dict, a {@code (dict, slots)} tuple, or anything a {@code __setstate__} takes. */
    public Object state() {
        return state;
    }

    public void setState(Object state) {
        this.state = state;
    }

    /**
     * The attribute dict of the BUILD state: the dict itself, or both halves of a {@code (dict, slotdict)} state
     * merged; null when the state is not dict-shaped.
     */
    public PyDict stateDict() {
        if (state instanceof PyDict d) return d;
        if (state instanceof PyTuple t && t.size() == 2
                && (t.get(0) == null || t.get(0) instanceof PyDict) && t.get(1) instanceof PyDict slots) {
            if (t.get(0) == null) return slots;
            PyDict merged = new PyDict();
            ((PyDict) t.get(0)).items().forEach(merged::put);
            slots.items().forEach(merged::put);
            return merged;
        }
        return null;
    }

    /** One attribute from the BUILD state dict, or null if absent. */
    public Object attr(String name) {
        PyDict d = stateDict();
        return d == null ? null : d.get(name);
    }

    public boolean hasAttr(String name) {
        PyDict d = stateDict();
        return d != null && d.containsKey(name);
    }

    /** Items APPEND/APPENDS put on the object (list subclasses), never null. */
    public List<Object> listItems() {
        if (listItems == null) listItems = new ArrayList<>();
        return listItems;
    }

    /** Items SETITEM/SETITEMS put on the object (dict subclasses), never null. */
    public PyDict dictItems() {
        if (dictItems == null) dictItems = new PyDict();
        return dictItems;
    }

    @Override
    public String toString() {
        return type + (args == null ? "" : args.items().toString());
    }
}
