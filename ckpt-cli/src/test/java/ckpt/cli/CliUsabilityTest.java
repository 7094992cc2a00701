package ckpt.cli;

import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static ckpt.cli.RotationCommandsTest.ckpt;
import static org.assertj.core.api.Assertions.assertThat;

/** What a user meets before any checkpoint: version, usage errors, help layout, shell completion. */
class CliUsabilityTest {
    private static final String TP2 = Fixtures.path("megatron-llama-tp2/checkpoint").toString();
    private static final String VERSION = System.getProperty("ckpt.version");

    @TempDir
    Path tmp;

    @Test
    void versionShowsTheProjectVersionAndTheCommitGitReports() throws Exception {
        var r = ckpt("--version");
        assertThat(r.code()).isZero();
        String first = r.out().lines().findFirst().orElseThrow();
        String head = run(Path.of(System.getProperty("ckpt.testdata")).getParent(), "git", "rev-parse", "--short=12", "HEAD");
        if (head == null) assertThat(first).isEqualTo("ckpt " + VERSION);
        else assertThat(first).matches("ckpt \\Q" + VERSION + "\\E \\(commit \\Q" + head + "\\E(-dirty)?\\)");
    }

    @Test
    void everyJsonOutputCarriesTheVersion() throws Exception {
        ObjectMapper m = new ObjectMapper();
        for (Object[] args : List.of(new Object[]{"inspect", "--json", TP2}, new Object[]{"verify", "--json", TP2},
                new Object[]{"list", "--json", Fixtures.path("megatron-llama-tp2/checkpoint")})) {
            var r = ckpt(args);
            JsonNode j = m.readTree(r.out());
            List<String> names = new ArrayList<>();
            j.fieldNames().forEachRemaining(names::add);
            assertThat(names.subList(0, 2)).as(Arrays.toString(args)).containsExactly("schema", "ckpt_version");
            assertThat(j.get("ckpt_version").asText()).as(Arrays.toString(args)).isEqualTo(BuildInfo.CURRENT.full()).startsWith(VERSION);
        }
    }

    @Test
    void usageErrorIsOneLineAndWhereTheHelpIs() {
        var typo = ckpt("inspect", "--jsn", TP2);
        assertThat(typo.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(typo.out()).isEmpty();
        assertThat(typo.err().lines().toList()).containsExactly(
                "ckpt: Unknown option: '--jsn' (did you mean --json?)", "See 'ckpt inspect --help'.");

        var missing = ckpt("convert", TP2);
        assertThat(missing.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(missing.err().lines().toList()).hasSize(2).last().isEqualTo("See 'ckpt convert --help'.");
        assertThat(missing.err()).startsWith("ckpt: Missing required options");

        var unknown = ckpt("inspec", TP2);
        assertThat(unknown.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(unknown.err().lines().toList()).hasSize(2).first().asString().contains("did you mean inspect?");
    }

    @Test
    void threadsOutOfRangeIsAUsageErrorBeforeAnyWork() {
        for (String command : List.of("convert", "reshard")) {
            for (String n : List.of("0", "1025", "100000")) {
                Path out = tmp.resolve(command + n);
                var r = command.equals("convert") ? ckpt("convert", TP2, "--format", "pytorch", "--output-dir", out, "--threads", n)
                        : ckpt("reshard", TP2, "--output-dir", out, "--threads", n);
                assertThat(r.code()).as(command).isEqualTo(ExitCodes.USAGE);
                assertThat(r.err().lines().toList()).as(command).containsExactly(
                        "ckpt: --threads must be between 1 and 1024, got " + n, "See 'ckpt " + command + " --help'.");
                assertThat(out).as(command).doesNotExist();
            }
        }
    }

    @Test
    void bareCkptPrintsTheHelp() {
        var r = ckpt();
        assertThat(r.code()).isZero();
        assertThat(r.out()).startsWith("Usage: ckpt").contains("completion").doesNotContain("--debug");
    }

    /** Wrapping may only happen at spaces: the words of the wrapped help are exactly those of the help laid out wide. */
    @Test
    void helpIsWrappedAtSpacesOnly() {
        List<CommandLine> all = new ArrayList<>(), wideAll = new ArrayList<>();
        collect(CkptCommand.commandLine(), all);
        CommandLine wideRoot = CkptCommand.commandLine();
        wideRoot.setHelpSectionMap(new CommandLine(new CkptCommand()).getHelpSectionMap()); // picocli's, unwrapped
        collect(wideRoot, wideAll);
        assertThat(all).hasSizeGreaterThan(6);
        int rewrapped = 0;
        for (int i = 0; i < all.size(); i++) {
            CommandLine cl = all.get(i);
            String wrapped = cl.getUsageMessage(CommandLine.Help.Ansi.OFF);
            String wide = wideAll.get(i).getUsageMessage(CommandLine.Help.Ansi.OFF);
            assertThat(words(wrapped)).as(cl.getCommandName()).isEqualTo(words(wide));
            assertThat(wrapped.lines()).as(cl.getCommandName())
                    .allMatch(l -> l.length() <= HelpLayout.WIDTH || l.strip().indexOf(' ') < 0);
            if (!wrapped.equals(wide)) rewrapped++;
        }
        assertThat(rewrapped).as("commands whose help needed wrapping").isGreaterThan(4);
    }

    @Test
    void bashCompletionCompletesSubcommandsAndOptions() throws Exception {
        var r = ckpt("completion", "bash");
        assertThat(r.code()).isZero();
        Path script = Files.writeString(tmp.resolve("ckpt.bash"), r.out());
        assertThat(complete(script, "ckpt", "ins")).containsExactly("inspect");
        assertThat(complete(script, "ckpt", "")).contains("inspect", "verify", "convert", "list", "rotate", "completion");
        assertThat(complete(script, "ckpt", "inspect", "--js")).containsExactly("--json");
        assertThat(complete(script, "ckpt", "convert", "--for")).containsExactly("--force", "--format");
        assertThat(ckpt("completion", "zsh").out()).contains("bashcompinit").contains("_complete_ckpt");
        assertThat(ckpt("completion", "fish").code()).isEqualTo(ExitCodes.USAGE);
    }

    /** Runs bash's programmable completion as a shell would: COMP_WORDS/COMP_CWORD set, the function called. */
    private List<String> complete(Path script, String... words) throws Exception {
        String line = String.join(" ", words);
        String words0 = Arrays.stream(words).map(w -> "'" + w + "'").reduce((a, b) -> a + " " + b).orElseThrow();
        String cmd = "source '" + script + "'; COMP_WORDS=(" + words0 + "); COMP_CWORD=" + (words.length - 1)
                + "; COMP_LINE='" + line + "'; COMP_POINT=" + line.length()
                + "; _complete_ckpt 2>/dev/null; printf '%s\\n' \"${COMPREPLY[@]}\"";
        String out = run(tmp, "bash", "--norc", "--noprofile", "-c", cmd);
        assertThat(out).as("bash ran").isNotNull();
        return out.isEmpty() ? List.of() : out.lines().map(String::strip).filter(s -> !s.isEmpty()).sorted().toList();
    }

    private static List<String> words(String s) {
        return Arrays.stream(s.split("\\s+")).filter(w -> !w.isEmpty()).toList();
    }

    private static void collect(CommandLine cl, List<CommandLine> into) {
        into.add(cl);
        cl.getSubcommands().values().forEach(c -> collect(c, into));
    }

    /** stdout of a command, stripped, or null when it fails or is not installed. */
    private static String run(Path dir, String... cmd) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException notInstalled) {
            return null;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) return null;
        return out.strip();
    }
}
