package ckpt.cli;

import ckpt.convert.analysis.InspectJson;
import com.fasterxml.jackson.databind.node.ObjectNode;

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
}
