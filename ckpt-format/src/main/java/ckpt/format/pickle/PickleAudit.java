package ckpt.format.pickle;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Collects every global (class or function) the pickles read on this thread reference — through GLOBAL,
 * STACK_GLOBAL or INST, which also names the targets of REDUCE, NEWOBJ and OBJ — so that a command can say whether
 * a file is safe to {@code torch.load}. Pickles are read deep inside many readers (a {@code .metadata}, every DCP
 * item, a {@code common.pt}); a scoped, thread-confined collector sees them all without threading a listener
 * through every reader's API. Nothing is collected when no audit is open.
 *
 * <pre>{@code try (PickleAudit audit = PickleAudit.start()) { ...open and read...; audit.findings(); }}</pre>
 */
public final class PickleAudit implements AutoCloseable {
    private static final ThreadLocal<PickleAudit> CURRENT = new ThreadLocal<>();
    private static final int MAX_FINDINGS = 10_000;

    /**
     * A global as a file references it; the first reference per file and global is kept. {@code record} names the
     * pickle inside the file when it is one record of it (a zip's {@code archive/data.pkl}), null otherwise.
     */
    public record Finding(Path file, String record, PyGlobal global, String opcode, long offset) {
        /** Where the reference is, in words: "byte 27 of archive/data.pkl", or "byte 27" when the pickle is the file. */
        public String where() {
            return "byte " + offset + (record == null ? "" : " of " + record);
        }
    }

    private final PickleAudit outer;
    private final Map<String, Finding> findings = new LinkedHashMap<>();

    private PickleAudit(PickleAudit outer) {
        this.outer = outer;
    }

    public static PickleAudit start() {
        PickleAudit a = new PickleAudit(CURRENT.get());
        CURRENT.set(a);
        return a;
    }

    static void record(Path file, String record, PyGlobal g, String opcode, long offset) {
        PickleAudit a = CURRENT.get();
        if (a == null || a.findings.size() >= MAX_FINDINGS) return;
        a.findings.putIfAbsent(file + "\u0000" + g, new Finding(file, record, g, opcode, offset));
    }

    public List<Finding> findings() {
        return new ArrayList<>(findings.values());
    }

    @Override
    public void close() {
        if (outer == null) CURRENT.remove();
        else {
            outer.findings.putAll(findings);
            CURRENT.set(outer);
        }
    }
}
