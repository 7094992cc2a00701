package ckpt.convert.exec;

import java.util.Set;

/**
 * Which share of an output one process writes: all of it (a plain {@code convert}), the units of one part
 * ({@code --part I/N}: tensor bytes only, into a shared staging dir), or the completion ({@code --finish}: headers,
 * indexes, configs and central directories, from the parts' records). A unit is what the format divides by: a whole
 * output file where it has many, a tensor record where it has one.
 */
record Share(Kind kind, Set<String> units) {
    enum Kind { WHOLE, PART, FINISH }

    static final Share WHOLE = new Share(Kind.WHOLE, Set.of());
    static final Share FINISH = new Share(Kind.FINISH, Set.of());

    Share {
        units = Set.copyOf(units);
    }

    static Share part(Set<String> units) {
        return new Share(Kind.PART, units);
    }

    /** Whether this process writes the bytes of {@code unit}. */
    boolean writes(String unit) {
        return kind == Kind.WHOLE || (kind == Kind.PART && units.contains(unit));
    }

    boolean isPart() {
        return kind == Kind.PART;
    }

    boolean isFinish() {
        return kind == Kind.FINISH;
    }
}
