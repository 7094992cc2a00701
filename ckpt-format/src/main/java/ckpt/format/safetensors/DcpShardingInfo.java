package ckpt.format.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code DCP_SHARDING_INFO} metadata that PyTorch DCP puts in safetensors blobs it writes
 * ({@code FileSystemWriter(serialization_format=SAFETENSORS)}, {@code HuggingFaceStorageWriter}):
 * JSON {@code {fqn: {"saved_offsets": [...]}}}, the position of each saved chunk inside its global tensor.
 */
public final class DcpShardingInfo {
    public static final String KEY = "DCP_SHARDING_INFO";
    public static final String VERSION_KEY = "DCP_VERSION";

    private final Map<String, long[]> savedOffsets;

    private DcpShardingInfo(Map<String, long[]> savedOffsets) {
        this.savedOffsets = Collections.unmodifiableMap(savedOffsets);
    }

    /** Empty when the blob carries no {@code DCP_SHARDING_INFO}. */
    public static Optional<DcpShardingInfo> of(SafetensorsHeader header) {
        String json = header.metadata().get(KEY);
        if (json == null) return Optional.empty();
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        Map<String, long[]> out = new LinkedHashMap<>();
        try (JsonParser p = JsonLimits.parser(new ByteArrayInputStream(bytes), bytes.length, 4)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw bad(header, null, "is not a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String fqn = p.currentName();
                if (p.nextToken() != JsonToken.START_OBJECT) throw bad(header, fqn, "entry is not an object");
                long[] offsets = null;
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String field = p.currentName();
                    if (!field.equals("saved_offsets")) throw bad(header, fqn, "unexpected field " + SafetensorsException.quote(field));
                    offsets = offsets(header, fqn, p);
                }
                if (offsets == null) throw bad(header, fqn, "has no saved_offsets");
                out.put(fqn, offsets);
            }
        } catch (JsonProcessingException e) {
            throw bad(header, null, "is not valid JSON: " + JsonLimits.oneLine(e));
        } catch (IOException e) {
            throw bad(header, null, "cannot be read: " + e.getMessage());
        }
        return Optional.of(new DcpShardingInfo(out));
    }

    private static long[] offsets(SafetensorsHeader header, String fqn, JsonParser p) throws IOException {
        if (p.nextToken() != JsonToken.START_ARRAY) throw bad(header, fqn, "saved_offsets is not an array");
        long[] out = new long[4];
        int n = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER
                    || p.getLongValue() < 0) {
                throw bad(header, fqn, "saved_offsets holds something other than a non-negative integer");
            }
            if (n == SafetensorsHeader.MAX_RANK) throw bad(header, fqn, "saved_offsets has too many elements");
            if (n == out.length) out = Arrays.copyOf(out, out.length * 2);
            out[n++] = p.getLongValue();
        }
        return Arrays.copyOf(out, n);
    }

    private static SafetensorsException bad(SafetensorsHeader header, String fqn, String message) {
        return new SafetensorsException(header.file(), fqn == null ? null : "fqn " + SafetensorsException.quote(fqn),
                KEY + " " + message);
    }

    /** FQN → offsets of the saved chunk in the global tensor, in the metadata's order. */
    public Map<String, long[]> savedOffsets() {
        return savedOffsets;
    }

    public Optional<long[]> savedOffsets(String fqn) {
        return Optional.ofNullable(savedOffsets.get(fqn)).map(long[]::clone);
    }
}
