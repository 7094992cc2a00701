package ckpt.cli;

import picocli.CommandLine;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Lays out help so that no word is wrapped mid-token. picocli wraps with {@link java.text.BreakIterator}, which breaks
 * after a dot and before a parenthesis ("model.|pt", "torch.|load|(...)"); here every section is rendered unwrapped and
 * then wrapped at spaces only, keeping picocli's indents (synopsis after the command name, table rows two past the
 * description column). A token longer than the line stays whole.
 */
final class HelpLayout {
    static final int WIDTH = 80;
    private static final int UNWRAPPED = 10_000;
    private static final Pattern ROW = Pattern.compile("^(\\s*\\S.*?)\\s{2,}(?=\\S)");

    private HelpLayout() {
    }

    /** Installs the layout on {@code cl} and every subcommand. */
    static void install(CommandLine cl) {
        cl.setUsageHelpWidth(UNWRAPPED);
        apply(cl);
    }

    private static void apply(CommandLine cl) {
        Map<String, CommandLine.IHelpSectionRenderer> sections = cl.getHelpSectionMap();
        sections.replaceAll((key, renderer) -> help -> wrap(key, renderer.render(help), help));
        cl.setHelpSectionMap(sections);
        cl.getSubcommands().values().forEach(HelpLayout::apply);
    }

    private static String wrap(String key, String text, CommandLine.Help help) {
        if (text.lines().allMatch(l -> l.length() <= WIDTH)) return text;
        if (key.equals(CommandLine.Model.UsageMessageSpec.SECTION_KEY_SYNOPSIS)) {
            // The synopsis follows its heading ("Usage: ") on the same line; continuations align after the command name.
            String pad = " ".repeat(help.synopsisHeading().length());
            String[] lines = text.split("\n", -1);
            lines[0] = wrapLine(pad + lines[0], pad.length() + help.commandSpec().qualifiedName().length() + 1).substring(pad.length());
            return String.join("\n", lines);
        }
        int indent = switch (key) {
            case CommandLine.Model.UsageMessageSpec.SECTION_KEY_OPTION_LIST,
                 CommandLine.Model.UsageMessageSpec.SECTION_KEY_PARAMETER_LIST,
                 CommandLine.Model.UsageMessageSpec.SECTION_KEY_COMMAND_LIST,
                 CommandLine.Model.UsageMessageSpec.SECTION_KEY_EXIT_CODE_LIST -> descriptionColumn(text) + 2;
            default -> -1; // paragraphs: continue at the line's own indent
        };
        StringBuilder out = new StringBuilder();
        for (String line : text.split("\n", -1)) {
            if (!out.isEmpty()) out.append('\n');
            int lead = line.length() - line.stripLeading().length();
            out.append(wrapLine(line, indent < 0 ? lead : indent));
        }
        return out.toString();
    }

    /** Where the descriptions of a table start: the furthest first cell end among its rows. */
    private static int descriptionColumn(String table) {
        int col = 0;
        for (String line : table.lines().toList()) {
            Matcher m = ROW.matcher(line);
            if (m.find()) col = Math.max(col, m.end());
        }
        return col;
    }

    static String wrapLine(String line, int indent) {
        if (line.length() <= WIDTH) return line;
        int lead = line.length() - line.stripLeading().length();
        List<String> lines = new ArrayList<>();
        StringBuilder cur = new StringBuilder(line.substring(0, lead));
        boolean empty = true;
        // Keep runs of spaces inside the first line (table padding); wrap only at single word boundaries after it.
        Matcher word = Pattern.compile("\\s*\\S+").matcher(line.substring(lead));
        while (word.find()) {
            String w = word.group();
            if (!empty && cur.length() + w.length() > WIDTH) {
                lines.add(cur.toString());
                cur = new StringBuilder(" ".repeat(indent)).append(w.stripLeading());
            } else {
                cur.append(empty ? w.stripLeading() : w);
            }
            empty = false;
        }
        lines.add(cur.toString());
        return String.join("\n", lines);
    }
}
