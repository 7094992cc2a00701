package ckpt.format.pickle;

import java.util.ArrayDeque;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/** An iterative walk over a pickled object graph (deep graphs must not overflow the test's stack either). */
final class PickleGraph {
    private PickleGraph() {}

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
