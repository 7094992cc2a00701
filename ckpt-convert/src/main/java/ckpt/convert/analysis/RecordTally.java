package ckpt.convert.analysis;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Tensor payload and stored records per data file, for the size analysis: pieces sharing one record (a torch.save
 * storage viewed twice) count it once. A 405B-scale DCP save has 1.4 M records; kept as columns (file number,
 * offset, length) sized once from the piece count the index already holds — per-file arrays doubling as they filled
 * were 60 MB of copies there — and told apart by sorting each file's offsets once at the end.
 */
final class RecordTally {
    private final Map<String, Integer> fileIds = new HashMap<>();
    private long[] payloads = new long[16];     // by file number
    private int[] counts = new int[16];         // pieces by file number
    private int[] pieceFile;
    private long[] offsets;
    private long[] lengths;
    private int n;
    private String lastFile;                    // consecutive pieces often share a file: skip the map then
    private int lastId;

    RecordTally() {
        this(16);
    }

    /** @param expectedPieces how many pieces will be added (more grow the columns) */
    RecordTally(int expectedPieces) {
        int c = Math.max(16, expectedPieces);
        pieceFile = new int[c];
        offsets = new long[c];
        lengths = new long[c];
    }

    /** One piece: {@code payload} bytes of elements, held in the record {@code file[offset, offset + length)}. */
    void add(String file, long payload, long offset, long length) {
        int id = id(file);
        payloads[id] += payload;
        counts[id]++;
        if (n == offsets.length) {
            if (n > Integer.MAX_VALUE / 2 - 8) throw new IllegalStateException("more pieces than a Java array holds");
            pieceFile = Arrays.copyOf(pieceFile, n * 2);
            offsets = Arrays.copyOf(offsets, n * 2);
            lengths = Arrays.copyOf(lengths, n * 2);
        }
        pieceFile[n] = id;
        offsets[n] = offset;
        lengths[n++] = length;
    }

    private int id(String file) {
        if (file == lastFile) return lastId;
        Integer id = fileIds.get(file);
        if (id == null) {
            id = fileIds.size();
            fileIds.put(file, id);
            if (id == payloads.length) {
                payloads = Arrays.copyOf(payloads, id * 2);
                counts = Arrays.copyOf(counts, id * 2);
            }
        }
        lastFile = file;
        lastId = id;
        return id;
    }

    /** The files any piece lies in. */
    Set<String> files() {
        return fileIds.keySet();
    }

    /** Sum of the payloads of the pieces in {@code file} (0 if none), added as {@code long}s. */
    long payload(String file) {
        Integer id = fileIds.get(file);
        return id == null ? 0 : payloads[id];
    }

    /**
     * Distinct (file, offset, length) records over every piece added. Records with different offsets differ, so
     * when no offset repeats within a file (every DCP file: one record per chunk) its count is its piece count; only
     * a file with a repeated offset compares lengths too.
     */
    int distinctRecords() {
        int files = fileIds.size();
        int[] start = new int[files + 1];                // each file's offsets in byFile[start[f] .. start[f + 1])
        for (int f = 0; f < files; f++) start[f + 1] = start[f] + counts[f];
        int[] next = Arrays.copyOf(start, files);
        int[] pieces = new int[n];                      // piece numbers grouped by file, in the same places
        for (int i = 0; i < n; i++) pieces[next[pieceFile[i]]++] = i;
        long[] byFile = new long[n];
        for (int i = 0; i < n; i++) byFile[i] = offsets[pieces[i]];
        int distinct = 0;
        for (int f = 0; f < files; f++) {
            Arrays.sort(byFile, start[f], start[f + 1]);
            boolean repeated = false;
            for (int i = start[f] + 1; i < start[f + 1] && !repeated; i++) repeated = byFile[i] == byFile[i - 1];
            distinct += repeated ? distinctWithLengths(pieces, start[f], start[f + 1]) : counts[f];
        }
        return distinct;
    }

    private int distinctWithLengths(int[] pieces, int from, int to) {
        Set<Record> seen = new HashSet<>();
        for (int i = from; i < to; i++) seen.add(new Record(offsets[pieces[i]], lengths[pieces[i]]));
        return seen.size();
    }

    private record Record(long offset, long length) {
    }
}
