package ckpt.convert.analysis;

import ckpt.convert.analysis.InspectReport.FileInfo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Collapses the files of a checkpoint into groups of names that differ only in numbers ({@code __0_0.distcp} …
 * {@code __16127_0.distcp} become one {@code __R_0.distcp} group), so a 16,128-rank save reads in a few lines.
 * Number positions that are the same in every member stay literal; the varying one is shown as {@code R} for DCP
 * rank files and {@code N} otherwise. Small groups stay individual files: the names say more than a pattern.
 */
public final class FileGroups {
    /** Fewer members than this are listed one by one. */
    public static final int MIN_GROUP = 5;
    private static final Pattern DIGITS = Pattern.compile("\\d+");
    private static final Pattern DCP_RANK_FILE = Pattern.compile("__\\d+_\\d+\\.distcp");

    /**
     * @param pattern the members' shared name with the varying numbers replaced; a single file's own name
     * @param files   members in numeric order
     */
    public record Group(String pattern, String noun, List<FileInfo> files) {
        public boolean single() {
            return files.size() == 1;
        }

        public long total() {
            return files.stream().mapToLong(FileInfo::bytes).sum();
        }

        public long min() {
            return files.stream().mapToLong(FileInfo::bytes).min().orElse(0);
        }

        public long max() {
            return files.stream().mapToLong(FileInfo::bytes).max().orElse(0);
        }

        public long absent() {
            return files.stream().filter(f -> !f.present()).count();
        }
    }

    private FileGroups() {
    }

    /** Groups in the numeric order of their first member; files are sorted numerically inside each group. */
    public static List<Group> of(List<FileInfo> files) {
        Map<String, List<FileInfo>> byShape = new LinkedHashMap<>();
        files.stream().sorted((a, b) -> NaturalOrder.INSTANCE.compare(a.name(), b.name()))
                .forEach(f -> byShape.computeIfAbsent(DIGITS.matcher(f.name()).replaceAll("#"), k -> new ArrayList<>()).add(f));
        List<Group> out = new ArrayList<>();
        for (List<FileInfo> members : byShape.values()) {
            if (members.size() < MIN_GROUP) {
                for (FileInfo f : members) out.add(new Group(f.name(), "file", List.of(f)));
            } else {
                boolean dcp = DCP_RANK_FILE.matcher(members.getFirst().name()).matches();
                out.add(new Group(pattern(members, dcp ? "R" : "N"), dcp ? "rank files" : "files", List.copyOf(members)));
            }
        }
        return out;
    }

    /** The first member's name with every number that differs between members replaced by {@code placeholder}. */
    private static String pattern(List<FileInfo> members, String placeholder) {
        List<List<String>> numbers = members.stream().map(f -> numbers(f.name())).toList();
        String first = members.getFirst().name();
        Matcher m = DIGITS.matcher(first);
        StringBuilder sb = new StringBuilder();
        int i = 0;
        while (m.find()) {
            int k = i++;
            boolean same = numbers.stream().allMatch(n -> n.size() > k && n.get(k).equals(m.group()));
            m.appendReplacement(sb, same ? m.group() : placeholder);
        }
        m.appendTail(sb);
        return sb.toString();
    }

    private static List<String> numbers(String name) {
        List<String> out = new ArrayList<>();
        Matcher m = DIGITS.matcher(name);
        while (m.find()) out.add(m.group());
        return out;
    }
}
