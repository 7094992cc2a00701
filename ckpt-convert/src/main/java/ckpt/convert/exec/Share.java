package ckpt.convert.exec;

import java.util.Set;

/**
 * Which share of an output one process writes: all of it (a plain {@code convert}), the units of one part
 * ({@code --part I/N}: tensor bytes only, into a shared staging dir), or the completion ({@code --finish}: headers,
 * indexes, configs and central directories, from the parts' records). A unit is what the format divides by: a whole
 * output file where it has many, a tensor record where it has one.
 */
public record Share(Kind kind, Set<String> units) {
    public enum Kind { WHOLE, PART, FINISH }

    public static final Share WHOLE = new Share(Kind.WHOLE, Set.of());
    public static final Share FINISH = new Share(Kind.FINISH, Set.of());

    public Share {
        units = Set.copyOf(units);
    }

    public static Share part(Set<String> units) {
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
