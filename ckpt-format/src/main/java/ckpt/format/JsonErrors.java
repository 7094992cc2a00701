package ckpt.format;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonMappingException;

import java.util.List;

/**
 * What is wrong with a JSON input, in words, for a message that already names the file. Jackson's own messages name
 * its classes ({@code PartStaging$Header}), tokens ({@code JsonToken.START_ARRAY}) and settings
 * ({@code StreamReadConstraints.getMaxNestingDepth()}), and span lines; these keep the problem and where it is.
 */
public final class JsonErrors {
    private JsonErrors() {
    }

    public static String describe(Throwable e) {
        return describe(e, true);
    }

    /** {@link #describe(Throwable)} without Jackson's line and column, for a caller that places the error itself. */
    public static String describeUnplaced(Throwable e) {
        return describe(e, false);
    }

    private static String describe(Throwable e, boolean placed) {
        if (e instanceof StreamConstraintsException c) return clean(c.getOriginalMessage()); // depth, length limits
        if (e instanceof JsonMappingException d)
            return "not the JSON structure expected" + path(d.getPath()) + (placed ? at(d.getLocation()) : "");
        if (e instanceof JsonProcessingException j)
            return "not valid JSON: " + clean(j.getOriginalMessage()) + (placed ? at(j.getLocation()) : "");
        String m = e.getMessage();
        return m == null || m.isBlank() ? "unreadable" : InputText.excerpt(m.lines().findFirst().orElse(""));
    }

    /** The first line, without Jackson's code references ({@code , from `Class.method()`}, {@code `JsonToken.X`}). */
    static String clean(String m) {
        if (m == null || m.isBlank()) return "malformed JSON";
        String s = m.lines().findFirst().orElse("").replaceAll(" ?\\(start marker at \\[Source:[^\\]]*\\]\\)", "")
                .replaceAll("\\[Source:[^\\]]*\\]", "").replaceAll(",? ?from `[^`]*`", "").replaceAll("`[^`]*`", "a value")
                .replaceAll("\\bJsonToken\\.[A-Z_]+", "a value").strip();
        return InputText.excerpt(s);
    }

    /** " at regions[3].file", or "" at the top level. */
    static String path(List<JsonMappingException.Reference> path) {
        StringBuilder b = new StringBuilder();
        for (JsonMappingException.Reference r : path) {
            if (r.getFieldName() != null) b.append(b.isEmpty() ? "" : ".").append(InputText.excerpt(r.getFieldName()));
            else if (r.getIndex() >= 0) b.append('[').append(r.getIndex()).append(']');
        }
        return b.isEmpty() ? "" : " at " + b;
    }

    private static String at(JsonLocation l) {
        return l == null || l.getLineNr() < 1 ? "" : " (line " + l.getLineNr() + ", column " + l.getColumnNr() + ")";
    }
}
