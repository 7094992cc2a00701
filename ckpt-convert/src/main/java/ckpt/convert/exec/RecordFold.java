package ckpt.convert.exec;

import ckpt.convert.index.GlobalTensor;
import ckpt.convert.index.TensorPiece;
import ckpt.format.FormatException;
import ckpt.format.RecordChecks;
import ckpt.format.tensor.StridedView;
import ckpt.format.zip.Crc32;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The source CRC-32 checks one execution took over from the reader ({@link RecordChecks#DEFERRAL}). A record whose
 * bytes a worker copies or casts straight from the mapped source, as contiguous runs of the record (a chunk's rows
 * written out as they are, a row-parallel shard's column block copied into its rows, a block cast in place), is
 * proven by combining the runs' CRC-32s in record order ({@link Crc32#combine}) once they cover it — the copy
 * already reads every byte, so the reader's separate read of the whole record before use (a second pass over the
 * input) goes. A record whose stored part is not one run (a strided view, gathered) is checked at once when that is
 * found ({@link #checkNow}), before its bytes are used, as before; one left not fully covered (part of it unused,
 * or copied another way) is checked by the reader's own read in {@link #finish}, which the executor runs before it
 * returns — so before anything is published, a part's marker included.
 *
 * <p>Only records whose first open happens in a copy of runs are offered here: a reader checks each record once, and
 * a record first opened elsewhere was checked then. Pieces of one record on several workers meet in one entry;
 * a record's runs never overlap unless the record is copied twice at once (tied weights), which falls back to the
 * check. Held per record until it is proven: a few longs per record in flight.
 */
final class RecordFold {
    /** A stored record, as the index names it: its file and first byte. */
    private record Id(String file, long offset) {
        static Id of(TensorPiece p) {
            return new Id(p.source().file(), p.source().offset());
        }
    }

    /** A record whose check was taken over: what it must give, and its runs so far (merged where they touch). */
    private static final class Pending {
        final String file;
        final String key;
        final long recordOffset;
        final long crc;
        final long size;
        final Runnable check;
        /** Start → {end, CRC-32 of [start, end)}. */
        final TreeMap<Long, long[]> runs = new TreeMap<>();
        boolean spoiled;

        Pending(String file, String key, long recordOffset, long crc, long size, Runnable check) {
            this.file = file;
            this.key = key;
            this.recordOffset = recordOffset;
            this.crc = crc;
            this.size = size;
            this.check = check;
        }

        /** Adds a run; returns whether the runs now cover the record, all of it and once. */
        boolean add(long start, long length, long runCrc) {
            if (spoiled || length == 0) return false;
            long end = start + length;
            Map.Entry<Long, long[]> before = runs.floorEntry(start);
            Map.Entry<Long, long[]> after = runs.ceilingEntry(start);
            if (before != null && before.getValue()[0] > start || after != null && after.getKey() < end || end > size) {
                spoiled = true; // overlapping runs (the record copied twice at once): the reader's check decides
                runs.clear();
                return false;
            }
            if (before != null && before.getValue()[0] == start) {
                runCrc = Crc32.combine(before.getValue()[1], runCrc, length);
                start = before.getKey();
                runs.remove(start);
            }
            long[] next = runs.remove(end);
            if (next != null) {
                runCrc = Crc32.combine(runCrc, next[1], next[0] - end);
                end = next[0];
            }
            runs.put(start, new long[]{end, runCrc});
            return start == 0 && end == size;
        }

        long combined() {
            return runs.get(0L)[1];
        }
    }

    private final ConcurrentHashMap<Id, Pending> pending = new ConcurrentHashMap<>();

    /**
     * Opens {@code p} (a stored piece of {@code t}) offering this fold the check of its record: the reader hands it
     * over instead of reading the record (when it checks records at all, and has not checked this one yet).
     */
    StridedView open(GlobalTensor t, TensorPiece p) {
        Id id = Id.of(p);
        RecordChecks.Deferral take = (crc, size, check) -> {
            if (size == 0) return false;
            pending.putIfAbsent(id, new Pending(id.file(), t.key(), id.offset(), crc, size, check));
            return true;
        };
        return ScopedValue.where(RecordChecks.DEFERRAL, take).call(() -> p.source().open());
    }

    /** Whether the record of {@code p} waits for its runs (so a run copied from it needs its CRC-32). */
    boolean tracks(TensorPiece p) {
        return !pending.isEmpty() && pending.containsKey(Id.of(p));
    }

    /** A run of {@code length} bytes at {@code storageByte} of {@code p}'s record, with CRC-32 {@code crc}, was copied. */
    void copied(TensorPiece p, long storageByte, long length, long crc) {
        Id id = Id.of(p);
        Pending r = pending.get(id);
        if (r == null) return;
        long proven;
        synchronized (r) {
            if (!r.add(storageByte, length, crc)) return;
            proven = r.combined(); // here: a run copied twice at once would clear the runs after the lock
        }
        if (pending.remove(id, r) && proven != r.crc) failWith(r, proven);
    }

    /** The record of {@code p} will not be copied in runs after all: checked now, by the reader's read. */
    void checkNow(TensorPiece p) {
        Pending r = pending.remove(Id.of(p));
        if (r != null) check(r);
    }

    /** Checks every record not proven by its runs, by the reader's read; throws at the first mismatch. */
    void finish() {
        List<Pending> left = new ArrayList<>(pending.values());
        pending.clear();
        for (Pending r : left) check(r);
    }

    private static void check(Pending r) {
        try {
            r.check.run();
        } catch (FormatException e) {
            throw named(r, e);
        }
    }

    /** The runs gave {@code copied}; the reader's read names the mismatch as it always did. */
    private static void failWith(Pending r, long copied) {
        check(r);
        // the read matches the stored CRC, the bytes copied did not: the file changed while it was converted
        throw FormatException.atKey(Path.of(r.file), r.key, "record at byte " + r.recordOffset + ": the bytes copied give CRC-32 "
                + String.format("%08x", copied) + ", the zip directory says " + String.format("%08x", r.crc)
                + ": the file changed during the conversion");
    }

    /** As the reader names a record that fails its check: file, key, and where the record starts. */
    private static FormatException named(Pending r, FormatException e) {
        if (e.key() != null) return e;
        Path file = e.file();
        return FormatException.atKey(file, r.key, "record at byte " + r.recordOffset + ": "
                + (e.where() == null ? "" : e.where() + ": ") + e.detail(), e);
    }
}
