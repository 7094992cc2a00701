package ckpt.format;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/** Jackson's messages as ckpt says them: the problem and where, without Jackson's classes, tokens, settings or source. */
class JsonErrorsTest {
    record Shape(String schema, int part) {
    }

    private static String describe(String json, Class<?> type) {
        ObjectMapper m = new ObjectMapper();
        m.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(8).build());
        Throwable t = catchThrowable(() -> m.readValue(json, type));
        assertThat(t).isNotNull();
        return JsonErrors.describe(t);
    }

    @Test
    void inWords() {
        assertThat(describe("[1, 2]", Shape.class)).isEqualTo("not the JSON structure expected (line 1, column 1)");
        assertThat(describe("{\"schema\": [[]]}", Shape.class)).isEqualTo("not the JSON structure expected at schema (line 1, column 12)");
        assertThat(describe("{\"x\":", Map.class)).startsWith("not valid JSON: Unexpected end-of-input").endsWith("(line 1, column 6)");
        assertThat(describe("{\"a\": 1", Map.class)).doesNotContain("Source").doesNotContain("REDACTED").doesNotContain("`");
        assertThat(describe("[".repeat(20) + "]".repeat(20), Object.class))
                .isEqualTo("Document nesting depth (9) exceeds the maximum allowed (8)");
        for (String json : new String[]{"[1, 2]", "{\"x\":", "{\"a\": 1", "garbage", "[".repeat(20)})
            assertThat(describe(json, Shape.class)).doesNotContain("$").doesNotContain("ckpt.").doesNotContain("JsonToken")
                    .doesNotContain("StreamRead").doesNotContain("\n");
    }
}
