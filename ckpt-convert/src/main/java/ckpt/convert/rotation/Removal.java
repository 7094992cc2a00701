package ckpt.convert.rotation;

import java.util.List;

/**
 * What happened to one victim.
 *
 * @param name    the entry's name when planned
 * @param removed true when nothing of it is left
 * @param errors  one line per file or step that failed; empty iff removed
 */
public record Removal(String name, boolean removed, List<String> errors) {
    public Removal {
        errors = List.copyOf(errors);
    }
}
