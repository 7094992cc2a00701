package ckpt.convert.rotation;

import ckpt.convert.analysis.FileChecks;
import ckpt.convert.analysis.Problem;
import ckpt.convert.analysis.RecordRef;
import ckpt.format.FormatException;
import ckpt.format.dcp.DcpMetadata;
import ckpt.format.dcp.DcpMetadataReader;
import ckpt.format.dcp.MetadataIndex;
import ckpt.format.dcp.StorageInfo;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The deeper completeness check for DCP-based checkpoints (Megatron torch_dist, plain DCP): {@code .metadata} parses,
 * and every file it references exists and is long enough for every record it places there — the verifier's fast file
 * checks ({@link FileChecks}). Catches a data file cut short by a full disk or a killed copy, which names alone cannot.
 * Directories without {@code .metadata} are left to the file-level check (this one has nothing to add).
 */
public final class DcpCompletenessCheck implements CompletenessCheck {

    @Override
    public Status check(Path dir) {
        Path metadata = dir.resolve(DcpMetadataReader.METADATA_FILE);
        Layout layout = Files.isRegularFile(dir.resolve("metadata.json")) ? Layout.TORCH_DIST : Layout.DCP;
        if (!Files.isRegularFile(metadata)) return Status.complete(Layout.UNKNOWN);
        DcpMetadata md;
        try {
            md = DcpMetadataReader.read(dir);
        } catch (FormatException e) {
            return Status.incomplete(layout, List.of(".metadata unreadable: " + e.getMessage()));
        }
        List<RecordRef> records = new ArrayList<>(md.storage().size());
        for (Map.Entry<MetadataIndex, StorageInfo> e : md.storage().entrySet()) {
            StorageInfo s = e.getValue();
            records.add(new RecordRef(s.relativePath(), e.getKey().fqn(), s.offset(), s.length()));
        }
        List<String> problems = new ArrayList<>();
        for (Problem p : FileChecks.check(dir, records)) {
            String file = dir.relativize(Path.of(p.file())).toString();
            problems.add(file + ": " + p.what());
        }
        return problems.isEmpty() ? Status.complete(layout) : Status.incomplete(layout, problems);
    }
}
