package ckpt.format.pickle;

/** Resolves a BINPERSID persistent id (torch: a {@code ('storage', cls, key, location, numel)} tuple). */
@FunctionalInterface
public interface PersistentLoader {
    Object load(Object pid);
}
