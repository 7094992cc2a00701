package ckpt.convert.analysis;

import java.util.List;

/**
 * The outcome of {@code ckpt verify} (schema {@value #SCHEMA}, in {@code docs/INSPECT_JSON.md}).
 *
 * @param path       what the user gave
 * @param checkpoint the directory or file verified (a save dir's latest iteration); null when none was found
 * @param format     JSON name of the format, null when the checkpoint could not be opened
 * @param deep       whether every byte was read
 * @param problems   empty when sound
 * @param notes      facts that are not problems (e.g. globals only the checkpoint's own loader allowlists)
 */
public record VerifyReport(String schema, String path, String checkpoint, String format, Long iteration, boolean deep,
                           boolean sound, Checks checks, List<Problem> problems, List<String> notes) {
    public static final String SCHEMA = "ckpt.verify/1";

    public VerifyReport {
        problems = List.copyOf(problems);
        notes = notes == null ? List.of() : List.copyOf(notes);
    }

    /**
     * What was looked at.
     *
     * @param dataFiles     files the metadata points into
     * @param records       stored records (tensor chunks and objects) checked against their file's length
     * @param tensors       global tensors whose tiling was checked
     * @param zipRecords    records whose zip structure was parsed
     * @param crcEntries    zip entries whose CRC-32 was recomputed (deep)
     * @param chunksDecoded tensor chunks decoded against their metadata (deep)
     * @param filesHashed   files whose SHA-256 was compared with integrity.json (deep)
     * @param bytesRead     bytes read to check checksums (deep)
     */
    public record Checks(int dataFiles, long records, int tensors, long zipRecords, long crcEntries, long chunksDecoded,
                         int filesHashed, long bytesRead) {
    }
}
