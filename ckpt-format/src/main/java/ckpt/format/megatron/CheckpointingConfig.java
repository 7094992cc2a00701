package ckpt.format.megatron;

import ckpt.format.FormatException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code metadata.json} of a Megatron dist-checkpoint iteration: which sharded backend wrote it. Core ≤ 0.18 adds
 * the common backend fields, 0.19 drops them; unknown keys are ignored, as Megatron's loader does.
 */
public record CheckpointingConfig(String shardedBackend, int shardedBackendVersion, String commonBackend) {
    public static final String FILE = "metadata.json";

    public static CheckpointingConfig read(Path iterDir) {
        Path f = iterDir.resolve(FILE);
        if (!Files.isRegularFile(f))
            throw new FormatException(f, "incomplete save: metadata.json missing (Megatron writes it last, after all data)");
        try {
            if (Files.size(f) > 1 << 20) throw new FormatException(f, "metadata.json larger than 1 MiB");
            JsonNode n = new ObjectMapper().readTree(f.toFile());
            if (n == null || !n.isObject() || !n.path("sharded_backend").isTextual())
                throw new FormatException(f, "metadata.json has no sharded_backend");
            return new CheckpointingConfig(n.get("sharded_backend").asText(), n.path("sharded_backend_version").asInt(1),
                    n.path("common_backend").isTextual() ? n.get("common_backend").asText() : null);
        } catch (IOException e) {
            throw new FormatException(f, "unreadable metadata.json: " + e.getMessage().lines().findFirst().orElse(""), e);
        }
    }
}
