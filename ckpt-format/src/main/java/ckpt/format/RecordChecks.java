package ckpt.format;

/**
 * A reader that checks each record it hands out against the checksum its format stores (the zip CRC-32 of a
 * torch.save storage record, DCP items included). On by default, so that no reader silently passes on a flipped
 * bit; a caller that checks and reports checksums itself (verify) or was told not to ({@code convert --no-verify})
 * turns it off.
 */
public interface RecordChecks {
    void checkRecords(boolean on);
}
