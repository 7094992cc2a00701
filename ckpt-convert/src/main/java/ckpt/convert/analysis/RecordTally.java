package ckpt.convert.analysis;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Tensor payload and stored records per data file, for the size analysis: pieces sharing one record (a torch.save
 * storage viewed twice) count it once. A 405B-scale DCP save has 1.4 M records; kept as two {@code long}s each in
 * per-file arrays rather than a set of record objects (which was a third of inspect's time after the parse, in
 * hashing and GC), and told apart by sorting their offsets once at the end.
 */
final class RecordTally {
    private final Map<String, FileRecords> files = new HashMap<>();

    /** One piece: {@code payload} bytes of elements, held in the record {@code file[offset, offset + length)}. */
    void add(String file, long payload, long offset, long length) {
        FileRecords f = files.get(file);
        if (f == null) files.put(file, f = new FileRecords());
        f.add(payload, offset, length);
    }

    /** The files any piece lies in. */
    Set<String> files() {
        return files.keySet();
    }

    /** Sum of the payloads of the pieces in {@code file} (0 if none), added as {@code long}s. */
    long payload(String file) {
        FileRecords f = files.get(file);
        return f == null ? 0 : f.payload;
    }

    /** Distinct (file, offset, length) records over every piece added. */
    int distinctRecords() {
        int n = 0;
        for (FileRecords f : files.values()) n += f.distinct();
        return n;
    }

    private static final class FileRecords {
        long payload;
        long[] offsets = new long[8];
        long[] lengths = new long[8];
        int n;

        void add(long bytes, long offset, long length) {
            payload += bytes;
            if (n == offsets.length) {
                offsets = Arrays.copyOf(offsets, n * 2);
                lengths = Arrays.copyOf(lengths, n * 2);
            }
            offsets[n] = offset;
            lengths[n++] = length;
        }

        /**
         * Records with different offsets differ, so when no offset repeats (every DCP file: one record per chunk)
         * the count is the piece count; only a file with a repeated offset compares lengths too.
         */
        int distinct() {
            long[] sorted = Arrays.copyOf(offsets, n);
            Arrays.sort(sorted);
            boolean repeated = false;
            for (int i = 1; i < n && !repeated; i++) repeated = sorted[i] == sorted[i - 1];
            if (!repeated) return n;
            Set<Record> seen = new HashSet<>();
            for (int i = 0; i < n; i++) seen.add(new Record(offsets[i], lengths[i]));
            return seen.size();
        }
    }

    private record Record(long offset, long length) {
    }
}
