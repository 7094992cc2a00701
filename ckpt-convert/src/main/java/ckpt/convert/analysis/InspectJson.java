package ckpt.convert.analysis;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;

/** The JSON form of inspect and verify reports: snake_case names, nulls kept (a stable shape for scripts), indented. */
public final class InspectJson {
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private InspectJson() {
    }

    /**
     * Streams the report to out through one {@link JsonGenerator}: no tree and no whole-document string is built,
     * so the JSON of a 405B checkpoint (thousands of tensors, 16k files) costs no more memory than the report.
     * out is flushed, not closed.
     */
    public static void write(Object report, java.io.Writer out) throws java.io.IOException {
        try (JsonGenerator g = MAPPER.getFactory().createGenerator(out)) {
            g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
            MAPPER.writeValue(g, report);
        }
        out.write(System.lineSeparator());
        out.flush();
    }

    public static String write(Object report) {
        try {
            return MAPPER.writeValueAsString(report);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("report not serialisable: " + e.getOriginalMessage(), e);
        }
    }
}
