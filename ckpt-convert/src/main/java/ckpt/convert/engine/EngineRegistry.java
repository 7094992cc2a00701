package ckpt.convert.engine;

import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.stream.Stream;

/**
 * The installed {@link TensorEngine}s: those on the class path ({@code java}) and those in engine directories, each
 * directory of jars loaded by a class loader of its own (parent: ckpt's), so an engine's dependencies never meet
 * ckpt's or another engine's. A search root is either an engine directory (it holds jars) or a directory of them
 * ({@code lib/engines/nd4j/*.jar}). Nothing heavy happens here: providers are cheap to construct by contract.
 */
public final class EngineRegistry {
    /** Extra engine directories (or directories of them), separated by ':'. */
    public static final String PATH_ENV = "CKPT_ENGINE_PATH";
    /** The same as a system property, e.g. for tests and embedding. */
    public static final String PATH_PROPERTY = "ckpt.engine.path";
    /** Engines ckpt knows of, so that a missing one gets install advice rather than "unknown". */
    public static final List<String> KNOWN = List.of(JavaEngine.NAME, "nd4j", "cuda");
    public static final String AUTO = "auto";

    /** An engine and where it came from (a directory, or the class path). */
    public record Installed(TensorEngine engine, String origin) {
    }

    private final Map<String, Installed> engines;
    private final List<Path> roots;
    private final List<String> problems;

    private EngineRegistry(Map<String, Installed> engines, List<Path> roots, List<String> problems) {
        this.engines = engines;
        this.roots = roots;
        this.problems = problems;
    }

    /** Engines on the class path, then those under {@code roots} in order; the first of a name wins. */
    public static EngineRegistry discover(List<Path> roots) {
        Map<String, Installed> found = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        ClassLoader parent = TensorEngine.class.getClassLoader();
        load(ServiceLoader.load(TensorEngine.class, parent), null, "class path", found, problems);
        for (Path root : roots) {
            for (Path dir : engineDirs(root, problems)) {
                List<Path> jars = jars(dir, problems);
                URL[] urls = new URL[jars.size()];
                try {
                    for (int i = 0; i < urls.length; i++) urls[i] = jars.get(i).toUri().toURL();
                } catch (MalformedURLException e) {
                    problems.add(dir + ": " + e.getMessage());
                    continue;
                }
                // Never closed: the engine's classes are used until the JVM exits.
                URLClassLoader loader = new URLClassLoader("ckpt-engine-" + dir.getFileName(), urls, parent);
                load(ServiceLoader.load(TensorEngine.class, loader), loader, dir.toString(), found, problems);
            }
        }
        return new EngineRegistry(found, List.copyOf(roots), List.copyOf(problems));
    }

    /**
     * The search roots: each entry of {@value #PATH_PROPERTY} and {@value #PATH_ENV} (':'-separated), then
     * {@code engines/} beside ckpt's jar ({@code lib/engines} in the release).
     */
    public static List<Path> defaultRoots(String envValue) {
        List<Path> roots = new ArrayList<>();
        for (String v : new String[]{System.getProperty(PATH_PROPERTY), envValue}) {
            if (v == null) continue;
            for (String s : v.split(":")) if (!s.isBlank()) roots.add(Path.of(s));
        }
        besideJar().ifPresent(roots::add);
        return roots;
    }

    private static Optional<Path> besideJar() {
        try {
            var source = TensorEngine.class.getProtectionDomain().getCodeSource();
            if (source == null) return Optional.empty();
            Path p = Path.of(source.getLocation().toURI());
            return Files.isRegularFile(p) ? Optional.of(p.resolveSibling("engines")) : Optional.empty();
        } catch (Exception e) { // an unusual class loader: no default root, the explicit path still works
            return Optional.empty();
        }
    }

    private static void load(ServiceLoader<TensorEngine> sl, ClassLoader own, String origin,
                             Map<String, Installed> found, List<String> problems) {
        var it = sl.iterator();
        while (true) {
            TensorEngine e;
            try {
                if (!it.hasNext()) return;
                e = it.next();
            } catch (ServiceConfigurationError | LinkageError err) {
                problems.add(origin + ": " + err.getMessage());
                continue;
            }
            if (own != null && e.getClass().getClassLoader() != own) continue; // the parent's, already listed
            found.putIfAbsent(e.name(), new Installed(e, origin));
        }
    }

    /** {@code root} itself when it holds jars, else its subdirectories that do (sorted); none when it is missing. */
    private static List<Path> engineDirs(Path root, List<String> problems) {
        if (!Files.isDirectory(root)) return List.of();
        if (!jars(root, problems).isEmpty()) return List.of(root);
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(Files::isDirectory).sorted(Comparator.comparing(Path::toString))
                    .filter(d -> !jars(d, problems).isEmpty()).toList();
        } catch (IOException e) {
            problems.add(root + ": " + e.getMessage());
            return List.of();
        }
    }

    private static List<Path> jars(Path dir, List<String> problems) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".jar") && Files.isRegularFile(p))
                    .sorted(Comparator.comparing(Path::toString)).toList();
        } catch (IOException e) {
            problems.add(dir + ": " + e.getMessage());
            return List.of();
        }
    }

    public List<Installed> installed() {
        return List.copyOf(engines.values());
    }

    public Optional<TensorEngine> find(String name) {
        return Optional.ofNullable(engines.get(name)).map(Installed::engine);
    }

    /** What went wrong while looking (unreadable directories, broken service files), for error messages. */
    public List<String> problems() {
        return problems;
    }

    /**
     * The engine for {@code --engine choice}, checked available.
     *
     * @throws IllegalArgumentException     for a name that is neither known nor installed (a usage error)
     * @throws EngineUnavailableException for an engine that is not installed or cannot run here (one line)
     */
    public Selection select(String choice) {
        String name = choice.trim().toLowerCase(java.util.Locale.ROOT);
        if (name.equals(AUTO)) return AutoRule.choose(this);
        Installed in = engines.get(name);
        if (in == null) {
            if (!KNOWN.contains(name)) {
                List<String> others = engines.keySet().stream().filter(n -> !KNOWN.contains(n)).toList();
                throw new IllegalArgumentException("unknown engine '" + choice + "': expected java, nd4j, cuda, auto"
                        + (others.isEmpty() ? "" : " or an installed one (" + String.join(", ", others) + ")"));
            }
            throw new EngineUnavailableException("engine '" + name + "' is not installed: put its directory under "
                    + rootsText() + " (docs/ENGINES.md)" + (problems.isEmpty() ? "" : "; while looking: " + String.join("; ", problems)));
        }
        EngineStatus s = in.engine().status();
        if (!s.available()) throw new EngineUnavailableException("engine '" + name + "' is not available: " + s.detail());
        return new Selection(in.engine(), s, null);
    }

    private String rootsText() {
        List<String> r = new ArrayList<>();
        for (Path p : roots) r.add(p.toString());
        r.add("$" + PATH_ENV);
        return String.join(" or ", new java.util.LinkedHashSet<>(r));
    }

    /** The chosen engine, its status, and for {@code auto} why it was picked (else null). */
    public record Selection(TensorEngine engine, EngineStatus status, String autoReason) {
        public String name() {
            return engine.name();
        }
    }
}
