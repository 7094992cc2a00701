package ckpt.format.pickle;

/**
 * A reference to a Python global ({@code module.name}) as a pickle names it, after the Python 2 → 3 name remapping.
 * It is never resolved: it is a name, nothing more.
 */
public record PyGlobal(String module, String name) {
    public boolean is(String module, String name) {
        return this.module.equals(module) && this.name.equals(name);
    }

    @Override
    public String toString() {
        return module + "." + name;
    }
}
