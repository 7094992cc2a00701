package ckpt.format.safetensors;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Jackson parsers for untrusted JSON of a known byte length: every string, name and the document itself are bounded
 * by that length, nesting by what the format can legally contain, duplicate keys are errors, and the bytes must be
 * strict UTF-8 (decoded by a reporting decoder, so no encoding guesswork on hostile input).
 */
final class JsonLimits {
    private JsonLimits() {
    }

    static JsonParser parser(InputStream in, long byteLength, int maxDepth) throws IOException {
        int bound = (int) Math.min(Integer.MAX_VALUE, Math.max(byteLength, 1));
        StreamReadConstraints limits = StreamReadConstraints.builder()
                .maxNestingDepth(maxDepth)
                .maxDocumentLength(Math.max(byteLength, 1))
                .maxStringLength(bound)
                .maxNameLength(bound)
                .maxNumberLength(64)
                .build();
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(limits)
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .build();
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        return factory.createParser(new InputStreamReader(in, decoder));
    }

    /** Jackson messages span lines (source excerpt); keep the first, which names the problem. */
    static String oneLine(Exception e) {
        String m = ckpt.format.JsonErrors.describeUnplaced(e);
        return m.startsWith("not valid JSON: ") ? m.substring("not valid JSON: ".length()) : m;
    }
}
