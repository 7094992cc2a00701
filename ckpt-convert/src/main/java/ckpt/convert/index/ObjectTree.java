package ckpt.convert.index;

import ckpt.format.FormatException;
import ckpt.format.pickle.PyDict;
import ckpt.format.pickle.PyObject;
import ckpt.format.pickle.PyTuple;
import ckpt.format.torchsave.TensorRef;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Walks an unpickled object tree (dicts, OrderedDicts, lists, tuples, and the attributes and items of inert Python
 * objects) in pickle order and reports every tensor with its path, plus every maximal subtree that holds no tensor
 * (a top-level {@code args}, an optimizer's {@code param_groups}…). Iterative, so deep nesting cannot overflow the
 * stack; each container is entered once, so shared or cyclic references (memo GETs) cannot blow up the walk; key
 * lengths are bounded, so a deep path repeated by many memoized tensors cannot exhaust memory.
 */
final class ObjectTree {
    /** Longest path (in characters of its dotted key) accepted. */
    static final int MAX_KEY_CHARS = 1 << 16;
    /** Characters of all reported paths together. */
    static final long MAX_TOTAL_KEY_CHARS = 1L << 26;

    interface Visitor {
        void tensor(List<String> path, TensorRef tensor);

        /** A value (leaf or container) with no tensor inside, whose parent holds tensors (or is the root). */
        void object(List<String> path, Object value);
    }

    private record Node(Node parent, String name, int keyChars) {
        List<String> path() {
            ArrayList<String> out = new ArrayList<>();
            for (Node n = this; n != null && n.parent != null; n = n.parent) out.add(n.name);
            Collections.reverse(out);
            return out;
        }
    }

    /** One container being walked: its remaining children and the tensor-free children seen so far. */
    private static final class Frame {
        final Node node;
        final Object value;
        final Iterator<Map.Entry<String, Object>> children;
        final long tensorsBefore;
        final List<Map.Entry<Node, Object>> tensorFree = new ArrayList<>();

        Frame(Node node, Object value, long tensorsBefore) {
            this.node = node;
            this.value = value;
            this.children = children(value);
            this.tensorsBefore = tensorsBefore;
        }
    }

    private final Path file;
    private final Visitor visitor;
    private final Set<Object> entered = Collections.newSetFromMap(new IdentityHashMap<>());
    private long tensors;
    private long totalKeyChars;

    private ObjectTree(Path file, Visitor visitor) {
        this.file = file;
        this.visitor = visitor;
    }

    static void walk(Path file, Object root, Visitor visitor) {
        new ObjectTree(file, visitor).run(root);
    }

    private void run(Object root) {
        Node rootNode = new Node(null, "", 0);
        if (root instanceof TensorRef t) {
            visitor.tensor(List.of(), t);
            return;
        }
        if (!isContainer(root)) {
            visitor.object(List.of(), root);
            return;
        }
        entered.add(root);
        ArrayDeque<Frame> stack = new ArrayDeque<>();
        stack.push(new Frame(rootNode, root, 0));
        while (!stack.isEmpty()) {
            Frame f = stack.peek();
            if (!f.children.hasNext()) {
                stack.pop();
                finish(f, stack.peek());
                continue;
            }
            Map.Entry<String, Object> c = f.children.next();
            Object v = c.getValue();
            Node child = child(f.node, c.getKey());
            if (v instanceof TensorRef t) {
                tensors++;
                visitor.tensor(report(child), t);
            } else if (isContainer(v)) {
                // A container met again (shared or cyclic) was reported where it was first met.
                if (entered.add(v)) stack.push(new Frame(child, v, tensors));
            } else {
                f.tensorFree.add(entry(child, v));
            }
        }
    }

    /** A finished container: report its tensor-free children if it holds tensors; else it is tensor-free itself. */
    private void finish(Frame f, Frame parent) {
        boolean hasTensors = tensors > f.tensorsBefore;
        if (hasTensors || parent == null) {
            for (Map.Entry<Node, Object> e : f.tensorFree) visitor.object(report(e.getKey()), e.getValue());
        } else {
            parent.tensorFree.add(entry(f.node, f.value));
        }
    }

    private Node child(Node parent, String name) {
        int chars = parent.keyChars + (parent.parent == null ? 0 : 1) + name.length();
        if (chars > MAX_KEY_CHARS)
            throw new FormatException(file, "object tree path longer than " + MAX_KEY_CHARS
                    + " characters (nested too deeply or keys too long)");
        return new Node(parent, name, chars);
    }

    private List<String> report(Node n) {
        totalKeyChars += n.keyChars;
        if (totalKeyChars > MAX_TOTAL_KEY_CHARS)
            throw new FormatException(file, "object tree paths exceed " + MAX_TOTAL_KEY_CHARS
                    + " characters in total (a hostile or degenerate pickle)");
        return n.path();
    }

    static boolean isContainer(Object v) {
        return v instanceof PyDict || v instanceof List<?> || v instanceof PyTuple || v instanceof PyObject;
    }

    private static Iterator<Map.Entry<String, Object>> children(Object v) {
        List<Map.Entry<String, Object>> out = new ArrayList<>();
        switch (v) {
            case PyDict d -> d.items().forEach((k, x) -> out.add(entry(keyName(k), x)));
            case PyTuple t -> indexed(t.items(), out);
            case List<?> l -> indexed(l, out);
            case PyObject o -> {
                PyDict state = o.stateDict();
                if (state != null) state.items().forEach((k, x) -> out.add(entry(keyName(k), x)));
                indexed(o.listItems(), out);
                o.dictItems().items().forEach((k, x) -> out.add(entry(keyName(k), x)));
            }
            default -> {
            }
        }
        return out.iterator();
    }

    private static void indexed(List<?> items, List<Map.Entry<String, Object>> out) {
        for (int i = 0; i < items.size(); i++) out.add(entry(Integer.toString(i), items.get(i)));
    }

    /** Map.entry refuses nulls; Python None values are common. */
    private static <K> Map.Entry<K, Object> entry(K k, Object v) {
        return new java.util.AbstractMap.SimpleImmutableEntry<>(k, v);
    }

    /** A dict key as text: strings as they are, other keys as Python would print them ({@code (torch.bfloat16, torch.float32)}). */
    static String keyName(Object k) {
        return k instanceof String s ? s : repr(k, 0);
    }

    private static String repr(Object k, int depth) {
        if (depth > 8) return "…";
        return switch (k) {
            case null -> "None";
            case String s -> "'" + s + "'";
            case Boolean b -> b ? "True" : "False";
            case ckpt.format.tensor.DType d -> "torch." + d.torchName();
            case PyTuple t -> {
                StringBuilder sb = new StringBuilder("(");
                for (int i = 0; i < t.size(); i++) sb.append(i > 0 ? ", " : "").append(repr(t.get(i), depth + 1));
                yield sb.append(t.size() == 1 ? ",)" : ")").toString();
            }
            default -> String.valueOf(k);
        };
    }
}
