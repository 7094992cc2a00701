package ckpt.cli;

import ckpt.convert.analysis.VerifyProgress;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A progress bar on stderr for {@code verify --deep} and {@code diff}, in MiB, shown only when stderr is a terminal. */
final class TerminalProgress implements VerifyProgress {
    private final String task;
    private ProgressBar bar;

    private TerminalProgress(String task) {
        this.task = task;
    }

    /**
     * Since JDK 22 {@code System.console()} is non-null even when output is redirected; {@code isTerminal()} tells
     * whether a person is watching.
     */
    static VerifyProgress forTerminal() {
        return forTerminal("verify");
    }

    /** A bar named {@code task} (e.g. {@code diff}) when stderr is a terminal. */
    static VerifyProgress forTerminal(String task) {
        java.io.Console c = System.console();
        return c != null && c.isTerminal() ? new TerminalProgress(task) : VerifyProgress.NONE;
    }

    @Override
    public void start(long totalBytes) {
        bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(totalBytes).setUnit(" MiB", 1 << 20)
                .setStyle(ProgressBarStyle.ASCII).setConsumer(new ConsoleProgressBarConsumer(System.err, 100))
                .setUpdateIntervalMillis(250).showSpeed().build();
    }

    @Override
    public void advance(long bytes) {
        if (bar != null) bar.stepBy(bytes);
    }

    @Override
    public void done() {
        if (bar != null) bar.close();
        bar = null;
    }
}
