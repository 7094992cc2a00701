package ckpt.engine.nd4j;

import ckpt.convert.engine.EngineStatus;
import org.nd4j.common.config.ND4JClassLoading;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Locale;

/**
 * ND4J's process-wide state: the backend, loaded once (the first load extracts ~400 MB of native libraries into
 * {@code ~/.javacpp/cache}), and its thread budget.
 */
final class Nd4jRuntime {
    static final String VERSION = "1.0.0-M2.1";

    private static EngineStatus status;

    private Nd4jRuntime() {
    }

    static synchronized EngineStatus status() {
        if (status != null) return status;
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            return status = EngineStatus.unavailable("ND4J's native library is installed for linux-x86_64 only, this is " + os + "/" + arch);
        }
        // ND4J finds its backend (and more) through its own class loader setting, by default the thread's context
        // class loader: the CLI's, which cannot see the jars of an engine directory.
        Thread me = Thread.currentThread();
        ClassLoader before = me.getContextClassLoader();
        me.setContextClassLoader(Nd4jRuntime.class.getClassLoader());
        try {
            ND4JClassLoading.setNd4jClassloader(Nd4jRuntime.class.getClassLoader());
            String backend = Nd4j.getBackend().getClass().getSimpleName();
            return status = EngineStatus.available("ND4J " + VERSION + ", " + backend + ", "
                    + Nd4j.getEnvironment().maxThreads() + " native threads");
        } catch (Throwable t) { // UnsatisfiedLinkError, a missing jar's NoClassDefFoundError, ND4J's own RuntimeExceptions
            Throwable root = t;
            while (root.getCause() != null && root.getCause() != root) root = root.getCause();
            return status = EngineStatus.unavailable("ND4J did not load: " + root.getClass().getSimpleName() + ": " + root.getMessage());
        } finally {
            me.setContextClassLoader(before);
        }
    }

    /**
     * Splits the cores between {@code workers} concurrent callers: each op may use {@code cores / workers} native
     * threads, so the executor's workers and ND4J's OpenMP pool together do not oversubscribe the machine.
     */
    static void start(int workers) {
        if (!status().available()) throw new IllegalStateException(status().detail());
        int cores = Runtime.getRuntime().availableProcessors();
        Nd4j.getEnvironment().setMaxThreads(Math.max(1, cores / Math.max(1, workers)));
    }
}
