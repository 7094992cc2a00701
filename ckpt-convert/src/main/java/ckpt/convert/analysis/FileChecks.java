package ckpt.convert.analysis;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The cheap file-level half of verification: every file the metadata points into exists, and is long enough for
 * every record placed in it. A file written only in part (job killed mid-save, copy cut short) fails here without a
 * byte of tensor data being read. Shared by {@link Verifier} and the rotation's {@code DcpCompletenessCheck}.
 */
public final class FileChecks {
    private FileChecks() {
    }

    /** Problems of the files under {@code dir} that {@code records} point into, one per file at most. */
    public static List<Problem> check(Path dir, Collection<RecordRef> records) {
        Map<String, List<RecordRef>> byFile = new TreeMap<>();
        List<Problem> problems = new ArrayList<>();
        for (RecordRef r : records) {
            if (r.offset() < 0 || r.length() < 0 || r.offset() > Long.MAX_VALUE - r.length()) {
                problems.add(new Problem(dir.resolve(r.file()).toString(), r.key(),
                        "record has an impossible range: offset " + r.offset() + ", length " + r.length()));
                continue;
            }
            byFile.computeIfAbsent(r.file(), f -> new ArrayList<>()).add(r);
        }
        for (Map.Entry<String, List<RecordRef>> e : byFile.entrySet()) {
            Path file = dir.resolve(e.getKey());
            List<RecordRef> rs = e.getValue();
            long size;
            java.util.Optional<String> special = ckpt.format.RegularFiles.kind(file);
            if (special.isPresent()) {
                problems.add(new Problem(file.toString(), null, "is " + special.get() + ", not a regular file: not read"));
                continue;
            }
            try {
                if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString());
                size = Files.size(file);
            } catch (NoSuchFileException ex) {
                problems.add(new Problem(file.toString(), null, "missing data file: the metadata places "
                        + rs.size() + " record" + (rs.size() == 1 ? "" : "s") + " in it"));
                continue;
            } catch (IOException ex) {
                problems.add(new Problem(file.toString(), null, "cannot read its size: " + IoReason.of(ex)));
                continue;
            }
            List<RecordRef> past = rs.stream().filter(r -> r.end() > size)
                    .sorted(Comparator.comparingLong(RecordRef::offset)).toList();
            if (past.isEmpty()) continue;
            long need = rs.stream().mapToLong(RecordRef::end).max().orElse(0);
            problems.add(new Problem(file.toString(), past.getFirst().key(), "truncated: the file has " + size
                    + " bytes but the metadata places records up to byte " + need + "; " + past.size() + " record"
                    + (past.size() == 1 ? " lies" : "s lie") + " past the end (the first at byte " + past.getFirst().offset() + ")"));
        }
        return problems;
    }

    /** Records grouped by file name, in file order (a convenience for callers building their own checks). */
    static Map<String, List<RecordRef>> byFile(Collection<RecordRef> records) {
        Map<String, List<RecordRef>> m = new LinkedHashMap<>();
        for (RecordRef r : records) m.computeIfAbsent(r.file(), f -> new ArrayList<>()).add(r);
        m.values().forEach(l -> l.sort(Comparator.comparingLong(RecordRef::offset)));
        return m;
    }
}
