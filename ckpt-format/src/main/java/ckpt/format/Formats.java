package ckpt.format;

import ckpt.format.dcp.DcpMetadataReader;
import ckpt.format.megatron.CheckpointingConfig;
import ckpt.format.megatron.SaveDir;
import ckpt.format.safetensors.SafetensorsHeader;
import ckpt.format.safetensors.ShardedSafetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Tells what a path is from file names and the first bytes of a file, without parsing anything: the readers
 * validate. Directory rules follow the tools that write them (Megatron's {@code _get_checkpoint_format}, FORMATS.md
 * §4.1; DCP §3.1; transformers §5.2; DeepSpeed §6.1); file rules follow torch's own detection (§2.1).
 */
public final class Formats {
    private static final Pattern ITER_DIR = Pattern.compile("iter_\\d{7,}|release");
    private static final Pattern GLOBAL_STEP_DIR = Pattern.compile("global_step\\d+(_universal)?");
    /** Member names of the pre-2018 tar format (torch ≤ 0.1.x, FORMATS.md §2.8b). */
    private static final Set<String> TORCH_TAR_MEMBERS = Set.of("sys_info", "storages", "tensors", "pickle");
    private static final int HEAD = 512;

    private Formats() {
    }

    public static DetectedFormat detect(Path path) {
        if (Files.isDirectory(path)) return directory(path);
        if (Files.isRegularFile(path)) return file(path);
        return DetectedFormat.UNKNOWN;
    }

    private static DetectedFormat directory(Path dir) {
        if (Files.isRegularFile(dir.resolve(CheckpointingConfig.FILE))) return DetectedFormat.MEGATRON_TORCH_DIST_ITERATION;
        if (Files.isRegularFile(dir.resolve(DcpMetadataReader.METADATA_FILE))) return DetectedFormat.DCP_DIR;
        boolean tracker = false, iterDirs = false, mpRankDirs = false, deepspeed = false, safetensors = false;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String n = p.getFileName().toString();
                if (Files.isDirectory(p)) {
                    iterDirs |= ITER_DIR.matcher(n).matches();
                    mpRankDirs |= n.startsWith("mp_rank_");
                    deepspeed |= GLOBAL_STEP_DIR.matcher(n).matches();
                } else {
                    tracker |= n.equals(SaveDir.TRACKER);
                    // `latest` names the tag; inside global_step*, rank files end like this (FORMATS.md §6.1).
                    deepspeed |= n.equals("latest") || n.equals("latest_universal") || n.endsWith("_model_states.pt") || n.endsWith("_optim_states.pt");
                    safetensors |= n.equals(ShardedSafetensors.INDEX_FILE) || n.endsWith(".safetensors");
                }
            }
        } catch (IOException e) {
            throw new FormatException(dir, "cannot list directory: " + e.getMessage(), e);
        }
        if (iterDirs) return DetectedFormat.MEGATRON_SAVE_DIR;
        // Megatron-DeepSpeed writes Megatron's tracker next to DeepSpeed's global_step dirs: the data are DeepSpeed's.
        if (deepspeed) return DetectedFormat.DEEPSPEED_DIR;
        if (tracker) return DetectedFormat.MEGATRON_SAVE_DIR;
        if (mpRankDirs) return DetectedFormat.MEGATRON_LEGACY_ITERATION;
        if (safetensors) return DetectedFormat.HF_SAFETENSORS_DIR;
        return DetectedFormat.UNKNOWN;
    }

    private static DetectedFormat file(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".safetensors")) return DetectedFormat.SAFETENSORS_FILE;
        ByteBuffer head = ByteBuffer.allocate(HEAD).order(ByteOrder.LITTLE_ENDIAN);
        long size;
        try (FileChannel ch = RegularFiles.openRead(file)) {
            size = ch.size();
            while (head.hasRemaining() && ch.read(head) > 0) {
                // fill as much of the head as the file has
            }
        } catch (IOException e) {
            throw new FormatException(file, "cannot read: " + e.getMessage(), e);
        }
        head.flip();
        if (startsWith(head, 0, "PK\u0003\u0004"))
            // A .distcp is several torch.save zips back to back: only its directory makes sense.
            return name.endsWith(".distcp") ? DetectedFormat.UNKNOWN : DetectedFormat.TORCH_SAVE_FILE;
        if (startsWith(head, 0, "PYTORCH1")) return DetectedFormat.TORCH_SAVE_FILE;
        // A pickle stream: torch's legacy format starts with one (DCP's .metadata is a pickle too, not a torch.save).
        if (head.limit() >= 2 && (head.get(0) & 0xFF) == 0x80 && head.get(1) >= 2 && head.get(1) <= 5)
            return name.equals(DcpMetadataReader.METADATA_FILE) ? DetectedFormat.UNKNOWN : DetectedFormat.TORCH_SAVE_FILE;
        if (startsWith(head, 257, "ustar")) {
            boolean torchMembers = TORCH_TAR_MEMBERS.contains(tarMemberName(head));
            boolean torchName = name.endsWith(".pt") || name.endsWith(".pth") || name.endsWith(".pth.tar");
            return torchMembers || torchName ? DetectedFormat.TORCH_SAVE_FILE : DetectedFormat.UNKNOWN;
        }
        if (head.limit() >= 9 && head.get(8) == '{') {
            long n = head.getLong(0);
            if (n >= 2 && n <= SafetensorsHeader.MAX_HEADER_LENGTH && n <= size - 8) return DetectedFormat.SAFETENSORS_FILE;
        }
        return DetectedFormat.UNKNOWN;
    }

    private static boolean startsWith(ByteBuffer b, int at, String magic) {
        if (b.limit() - at < magic.length()) return false;
        for (int i = 0; i < magic.length(); i++) if (b.get(at + i) != (byte) magic.charAt(i)) return false;
        return true;
    }

    /** The first tar member's name (NUL-terminated, 100 bytes), without a leading {@code ./}. */
    private static String tarMemberName(ByteBuffer b) {
        int end = 0;
        while (end < 100 && b.get(end) != 0) end++;
        byte[] raw = new byte[end];
        b.get(0, raw);
        String n = new String(raw, StandardCharsets.US_ASCII);
        return n.startsWith("./") ? n.substring(2) : n;
    }
}
