package ckpt.format;

/**
 * A reader that checks each record it hands out against the checksum its format stores (the zip CRC-32 of a
 * torch.save storage record, DCP items included). On by default, so that no reader silently passes on a flipped
 * bit; a caller that checks and reports checksums itself (verify) or was told not to ({@code convert --no-verify})
 * turns it off.
 */
public interface RecordChecks {
    void checkRecords(boolean on);

    /**
     * Bound by a caller that reads a record's bytes anyway (a conversion copying it straight from the mapped source):
     * a reader about to check a record by reading it again may hand the check over instead, and the caller combines
     * the CRC-32s of the bytes it copies (docs/BENCHMARKS.md, issue 18). Unbound, every check runs as it always did.
     */
    ScopedValue<Deferral> DEFERRAL = ScopedValue.newInstance();

    /** Takes over the check of one record. */
    @FunctionalInterface
    interface Deferral {
        /**
         * Offered a record whose stored bytes should have CRC-32 {@code crc} over {@code size} bytes; true takes the
         * check over: the caller then either proves the CRC from the bytes it copied or runs {@code check} (the
         * reader's own check, which throws on a mismatch) — in both cases before anything made from the record is
         * published. False: the reader checks now, as without a deferral.
         */
        boolean take(long crc, long size, Runnable check);
    }
}
