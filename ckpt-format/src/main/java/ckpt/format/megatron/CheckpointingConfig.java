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
 * the common backend fields, 0.19 drops them. Megatron builds its {@code CheckpointingConfig} dataclass from the
 * file ({@code CheckpointingConfig(**json.load(f))}, megatron/core/dist_checkpointing/core.py), so a key outside
 * its four fields, or a value of the wrong type, makes Megatron's load fail: both are refused here too.
 */
public record CheckpointingConfig(String shardedBackend, int shardedBackendVersion, String commonBackend) {
    public static final String FILE = "metadata.json";
    private static final JsonFactory JSON = new JsonFactory();

    public static CheckpointingConfig read(Path iterDir) {
        Path f = iterDir.resolve(FILE);
        ckpt.format.RegularFiles.require(f);
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
                        case "sharded_backend" -> backend = text(f, name, v, p);
                        case "sharded_backend_version", "common_backend_version" -> {
                            int n = version(f, name, v, p);
                            if (name.equals("sharded_backend_version")) version = n;
                        }
                        case "common_backend" -> common = text(f, name, v, p);
                        default -> throw new FormatException(f, "metadata.json has key '" + name.replaceAll("\\p{Cntrl}", "?")
                                + "', which Megatron's CheckpointingConfig does not accept (its load would fail)");
                    }
                }
            }
            if (backend == null) throw new FormatException(f, "metadata.json has no sharded_backend");
            return new CheckpointingConfig(backend, version, common);
        } catch (IOException e) {
            throw new FormatException(f, "unreadable metadata.json: " + ckpt.format.JsonErrors.describe(e), e);
        }
    }

    private static String text(Path f, String name, JsonToken v, JsonParser p) throws IOException {
        if (v != JsonToken.VALUE_STRING || p.getText().isEmpty())
            throw new FormatException(f, "metadata.json " + name + " must be a non-empty string");
        return p.getText();
    }

    private static int version(Path f, String name, JsonToken v, JsonParser p) throws IOException {
        if (v != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT || p.getIntValue() < 1)
            throw new FormatException(f, "metadata.json " + name + " must be a positive integer");
        return p.getIntValue();
    }
}
