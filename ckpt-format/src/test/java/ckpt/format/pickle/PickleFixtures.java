package ckpt.format.pickle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/** Test helpers: where the fixtures are, JSON references, an iterative walk over a pickled object graph. */
final class PickleFixtures {
    private static final ObjectMapper JSON = new ObjectMapper();

    private PickleFixtures() {}

    static Path testdata() {
        String prop = System.getProperty("ckpt.testdata");
        if (prop != null && Files.isDirectory(Paths.get(prop))) return Paths.get(prop);
        for (Path p = Paths.get("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("testdata"))) return p.resolve("testdata");
        }
        throw new IllegalStateException("testdata/ not found");
    }

    static JsonNode json(Path p) {
        try {
            return JSON.readTree(p.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] bytes(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Visits every value reachable from root once (identity), without recursion. */
    static void walk(Object root, Consumer<Object> visitor) {
        Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Object> todo = new ArrayDeque<>();
        todo.push(root == null ? "" : root);
        while (!todo.isEmpty()) {
            Object v = todo.pop();
            if (!seen.add(v)) continue;
            visitor.accept(v);
            Consumer<Object> add = c -> { if (c != null) todo.push(c); };
            switch (v) {
                case PyTuple t -> t.items().forEach(add);
                case java.util.List<?> l -> l.forEach(add);
                case PySet s -> s.items().forEach(add);
                case PyDict d -> {
                    for (Map.Entry<Object, Object> e : d.items().entrySet()) {
                        add.accept(e.getKey());
                        add.accept(e.getValue());
                    }
                    add.accept(d.attributes());
                }
                case PyObject o -> {
                    add.accept(o.type());
                    add.accept(o.args());
                    add.accept(o.kwargs());
                    add.accept(o.state());
                    add.accept(o.listItems());
                    add.accept(o.dictItems());
                }
                default -> { }
            }
        }
    }
}
