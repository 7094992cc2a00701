package ckpt.convert.rotation;

import ckpt.format.FormatException;
import ckpt.format.deepspeed.ZeroCheckpoint;
import ckpt.format.deepspeed.ZeroFileName;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The deeper completeness check for DeepSpeed tag directories: the world size saved in the optimizer states
 * ({@code partition_count}) names the rank files that must exist, and each parses as a sound torch.save zip — what
 * file names alone cannot tell when the highest ranks never wrote their files or a file was cut short.
 * Directories without DeepSpeed rank files are left to the other checks.
 */
public final class DeepSpeedCompletenessCheck implements CompletenessCheck {

    @Override
    public Status check(Path dir) throws java.io.IOException {
        boolean deepspeed;
        try (var s = Files.list(dir)) {
            deepspeed = s.anyMatch(p -> ZeroFileName.parse(p.getFileName().toString()).isPresent());
        }
        if (!deepspeed) return Status.complete(Layout.UNKNOWN);
        try (ZeroCheckpoint z = ZeroCheckpoint.open(dir)) {
            z.layout();
            return Status.complete(Layout.DEEPSPEED);
        } catch (ArithmeticException e) {
            return Status.incomplete(Layout.DEEPSPEED, List.of("element counts overflow (forged or corrupt shapes)"));
        } catch (FormatException e) {
            String m = e.getMessage();
            String prefix = dir.toString() + "/";
            return Status.incomplete(Layout.DEEPSPEED, List.of(m.startsWith(prefix) ? m.substring(prefix.length()) : m));
        }
    }
}
