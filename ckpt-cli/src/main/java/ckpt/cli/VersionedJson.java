package ckpt.cli;

import ckpt.convert.analysis.InspectJson;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.util.JsonGeneratorDelegate;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.Writer;

/** Every JSON output names the ckpt that wrote it: {@code ckpt_version} right after {@code schema}. */
final class VersionedJson {
    static final String FIELD = "ckpt_version";

    private VersionedJson() {
    }

    /** A report record (inspect, verify) as JSON text in {@link InspectJson}'s style, with the version added. */
    static String write(Object report) {
        ObjectNode tree = InspectJson.MAPPER.valueToTree(report);
        return InspectJson.write(stamp(tree));
    }

    /** Several reports (verify --all) as one JSON array, each with the version added. */
    static String writeAll(java.util.List<?> reports) {
        return InspectJson.write(reports.stream().map(r -> stamp(InspectJson.MAPPER.valueToTree(r))).toList());
    }

    /**
     * Streams a report with the version added, without building a tree first: inspect's JSON of a 405B checkpoint
     * is large, and a tree would double what the report already holds.
     */
    static void stream(Object report, Writer out) throws IOException {
        try (JsonGenerator base = InspectJson.MAPPER.getFactory().createGenerator(out)) {
            base.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
            InspectJson.MAPPER.writeValue(new Stamping(base, BuildInfo.CURRENT.full()), report);
        }
        out.write(System.lineSeparator());
        out.flush();
    }

    /** {@code node} with {@code ckpt_version} inserted after {@code schema} (or first when there is none). */
    static ObjectNode stamp(ObjectNode node) {
        ObjectNode out = node.objectNode();
        if (node.has("schema")) out.set("schema", node.get("schema"));
        out.put(FIELD, BuildInfo.CURRENT.full());
        node.properties().forEach(e -> {
            if (!out.has(e.getKey())) out.set(e.getKey(), e.getValue());
        });
        return out;
    }

    /** Writes {@code ckpt_version} after the root object's {@code schema} value, or before its first field. */
    private static final class Stamping extends JsonGeneratorDelegate {
        private final String version;
        private boolean stamped;
        private boolean afterSchema;

        Stamping(JsonGenerator d, String version) {
            super(d, false);
            this.version = version;
        }

        private boolean atRoot() {
            var ctx = delegate.getOutputContext();
            return ctx.inObject() && ctx.getParent() != null && ctx.getParent().inRoot();
        }

        private void beforeField(String name) throws IOException {
            if (stamped || !atRoot()) return;
            if (name.equals("schema")) {
                afterSchema = true;
            } else {
                stamped = true;
                delegate.writeStringField(FIELD, version);
            }
        }

        private void afterValue() throws IOException {
            if (!afterSchema) return;
            afterSchema = false;
            stamped = true;
            delegate.writeStringField(FIELD, version);
        }

        @Override
        public void writeFieldName(String name) throws IOException {
            beforeField(name);
            delegate.writeFieldName(name);
        }

        @Override
        public void writeFieldName(SerializableString name) throws IOException {
            beforeField(name.getValue());
            delegate.writeFieldName(name);
        }

        @Override
        public void writeString(String text) throws IOException {
            delegate.writeString(text);
            afterValue();
        }

        @Override
        public void writeString(SerializableString text) throws IOException {
            delegate.writeString(text);
            afterValue();
        }
    }
}
