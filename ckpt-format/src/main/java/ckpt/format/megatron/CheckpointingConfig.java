package ckpt.format.megatron;

import ckpt.format.FormatException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code metadata.json} of a Megatron dist-checkpoint iteration: which sharded backend wrote it. Core ≤ 0.18 adds
 * the common backend fields, 0.19 drops them; unknown keys are ignored, as Megatron's loader does.
 */
public record CheckpointingConfig(String shardedBackend, int shardedBackendVersion, String commonBackend) {
    public static final String FILE = "metadata.json";
    private static final JsonFactory JSON = new JsonFactory();

    public static CheckpointingConfig read(Path iterDir) {
        Path f = iterDir.resolve(FILE);
        if (!Files.isRegularFile(f))
            throw new FormatException(f, "incomplete save: metadata.json missing (Megatron writes it last, after all data)");
        try {
            if (Files.size(f) > 1 << 20) throw new FormatException(f, "metadata.json larger than 1 MiB");
            // Streaming jackson-core, not databind: this file is read on every inspect, and databind's class
            // loading alone cost ~190 ms of a cold start.
            String backend = null, common = null;
            int version = 1;
            try (JsonParser p = JSON.createParser(f.toFile())) {
                if (p.nextToken() != JsonToken.START_OBJECT) throw new FormatException(f, "metadata.json is not a JSON object");
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    JsonToken v = p.nextToken();
                    switch (name) {
                        case "sharded_backend" -> backend = v == JsonToken.VALUE_STRING ? p.getText() : null;
                        case "sharded_backend_version" -> version = v == JsonToken.VALUE_NUMBER_INT ? p.getIntValue() : 1;
                        case "common_backend" -> common = v == JsonToken.VALUE_STRING ? p.getText() : null;
                        default -> p.skipChildren();
                    }
                }
            }
            if (backend == null) throw new FormatException(f, "metadata.json has no sharded_backend");
            return new CheckpointingConfig(backend, version, common);
        } catch (IOException e) {
            throw new FormatException(f, "unreadable metadata.json: " + e.getMessage().lines().findFirst().orElse(""), e);
        }
    }
}
