package ckpt.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line spinner on stderr while a large metadata file is read, so a person at a terminal sees that work is
 * going on. It appears only on a terminal and only after a moment (small checkpoints print nothing), and erases
 * itself when done.
 */
final class MetadataSpinner implements AutoCloseable {
    private static final long DELAY_MS = 400;
    private static final String FRAMES = "|/-\\";

    private final Thread thread;
    private final PrintStream err;
    private volatile boolean done;
    private volatile boolean shown;

    private MetadataSpinner(String task, PrintStream err) {
        this.err = err;
        long start = System.nanoTime();
        thread = Thread.ofPlatform().daemon().name("ckpt-spinner").unstarted(() -> {
            try {
                Thread.sleep(DELAY_MS);
                for (int i = 0; !done; i++) {
                    double s = (System.nanoTime() - start) / 1e9;
                    synchronized (this) {
                        if (done) break;
                        err.print(String.format(Locale.ROOT, "\r%c %s… %.1f s", FRAMES.charAt(i % 4), task, s));
                        err.flush();
                        shown = true;
                    }
                    Thread.sleep(100);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        thread.start();
    }

    /** A running spinner when stderr is a terminal and task is non-null; otherwise one that does nothing. */
    static MetadataSpinner start(String task) {
        java.io.Console c = System.console();
        if (task == null || c == null || !c.isTerminal()) return null;
        return new MetadataSpinner(task, System.err);
    }

    @Override
    public void close() {
        synchronized (this) {
            done = true;
            if (shown) {
                err.print("\r\033[2K");
                err.flush();
            }
        }
        thread.interrupt();
    }
}
