package ckpt.cli;

import ckpt.convert.rotation.CheckpointEntry;
import ckpt.convert.rotation.Decision;
import ckpt.convert.rotation.Durations;
import ckpt.convert.rotation.Reason;
import ckpt.convert.rotation.Removal;
import ckpt.convert.rotation.RetentionPolicy;
import ckpt.convert.rotation.Rotator;
import ckpt.convert.rotation.SaveDirListing;
import ckpt.convert.rotation.Tracker;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;

/** The JSON of {@code ckpt list --json} and {@code ckpt rotate --json}; the schema is docs/ROTATION.md. */
final class RotationJson {
    static final String LIST_SCHEMA = "ckpt.list/1";
    static final String ROTATE_SCHEMA = "ckpt.rotate/1";
    static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private RotationJson() {
    }

    static ObjectNode list(SaveDirListing listing) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("schema", LIST_SCHEMA);
        root.put("save_dir", listing.saveDir().toString());
        root.set("trackers", trackers(listing));
        ArrayNode cps = root.putArray("checkpoints");
        for (CheckpointEntry e : listing.entries()) cps.add(entry(e));
        return root;
    }

    static ObjectNode rotate(Rotator.Result r) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("schema", ROTATE_SCHEMA);
        root.put("save_dir", r.listing().saveDir().toString());
        root.put("dry_run", r.dryRun());
        root.put("now", r.plan().now().toString());
        root.set("policy", policy(r.plan().policy()));
        root.set("trackers", trackers(r.listing()));
        ArrayNode warnings = root.putArray("warnings");
        r.warnings().forEach(warnings::add);

        Map<String, Removal> byName = r.removals().stream().collect(Collectors.toMap(Removal::name, Function.identity()));
        ArrayNode decisions = root.putArray("decisions");
        long kept = 0, removed = 0, failed = 0, bytes = 0;
        for (Decision d : r.plan().decisions()) {
            ObjectNode n = entry(d.entry());
            n.put("action", d.remove() ? "remove" : "keep");
            ArrayNode reasons = n.putArray("reasons");
            for (Reason reason : d.reasons()) reasons.addObject().put("id", reason.id()).put("text", reason.text());
            ArrayNode errors = MAPPER.createArrayNode();
            String result;
            if (!d.remove()) {
                result = "kept";
                kept++;
            } else if (r.dryRun()) {
                result = "planned";
                bytes += d.entry().sizeBytes();
            } else {
                Removal rm = byName.get(d.entry().name());
                rm.errors().forEach(errors::add);
                if (rm.removed()) {
                    result = "removed";
                    removed++;
                    bytes += d.entry().sizeBytes();
                } else {
                    result = "failed";
                    failed++;
                }
            }
            n.put("result", result);
            n.set("errors", errors);
            decisions.add(n);
        }
        ObjectNode summary = root.putObject("summary");
        summary.put("kept", kept);
        summary.put("to_remove", r.plan().removals().size());
        summary.put("removed", removed);
        summary.put("failed", failed);
        summary.put(r.dryRun() ? "bytes_to_free" : "bytes_freed", bytes);
        return root;
    }

    private static ObjectNode policy(RetentionPolicy p) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("keep_last", p.keepLast());
        n.put("keep_every", p.keepEvery());
        ArrayNode keep = n.putArray("keep");
        new TreeSet<>(p.keep()).forEach(keep::add);
        n.put("remove_incomplete", p.removeIncomplete());
        n.put("min_age_seconds", p.minAge().toSeconds());
        n.put("min_age", Durations.format(p.minAge()));
        return n;
    }

    private static ArrayNode trackers(SaveDirListing listing) {
        ArrayNode arr = MAPPER.createArrayNode();
        for (Tracker t : listing.trackers()) {
            ObjectNode n = arr.addObject();
            n.put("file", t.file());
            n.put("value", t.value());
            n.put("names", t.names());
            n.put("exists", t.exists());
            n.put("problem", t.problem());
        }
        return arr;
    }

    private static ObjectNode entry(CheckpointEntry e) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("name", e.name());
        n.put("kind", e.kind().id());
        n.put("iteration", e.iteration());
        n.put("status", e.state().id());
        n.put("layout", e.layout().id());
        ArrayNode problems = n.putArray("problems");
        e.problems().forEach(problems::add);
        n.put("size_bytes", e.sizeBytes());
        n.put("modified", e.modified().toString());
        n.put("latest", e.latest());
        n.put("symlink", e.symlink());
        return n;
    }
}
