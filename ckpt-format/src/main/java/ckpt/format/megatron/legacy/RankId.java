package ckpt.format.megatron.legacy;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The model-parallel coordinates of one legacy rank directory (FORMATS.md §4.8). Megatron names it
 * {@code mp_rank_{tp:02d}} plus {@code _{pp:03d}} iff PP &gt; 1 plus {@code _{ep:03d}} iff EP &gt; 1
 * ({@code get_checkpoint_name}); the name alone is ambiguous ({@code mp_rank_00_001}: PP or EP rank 1?), so it is
 * read back with the sizes from the args.
 */
public record RankId(int tp, int pp, int ep) implements Comparable<RankId> {
    private static final Pattern NAME = Pattern.compile("mp_rank_(\\d{2,})(?:_(\\d{3,}))?(?:_(\\d{3,}))?");

    public RankId {
        if (tp < 0 || pp < 0 || ep < 0) throw new IllegalArgumentException("negative rank");
    }

    /** The directory name Megatron gives this rank in a job with (or without) pipeline and expert parallelism. */
    public String dirName(boolean pipelineSuffix, boolean expertSuffix) {
        StringBuilder sb = new StringBuilder(String.format("mp_rank_%02d", tp));
        if (pipelineSuffix) sb.append(String.format("_%03d", pp));
        if (expertSuffix) sb.append(String.format("_%03d", ep));
        return sb.toString();
    }

    /** Whether a directory name looks like a legacy rank directory at all. */
    public static boolean isRankDirName(String name) {
        return NAME.matcher(name).matches();
    }

    /** The numbers of a rank directory name ({@code mp_rank_01_002} → [1, 2]), or empty if it is not one. */
    public static Optional<List<Integer>> numbers(String name) {
        Matcher m = NAME.matcher(name);
        if (!m.matches()) return Optional.empty();
        List<Integer> out = new ArrayList<>(3);
        for (int g = 1; g <= 3; g++) {
            String s = m.group(g);
            if (s == null) continue;
            if (s.length() > 9) return Optional.empty(); // no job has a billion ranks; keeps parseInt safe
            out.add(Integer.parseInt(s));
        }
        return Optional.of(out);
    }

    /**
     * Reads a directory name back given whether the saving job had PP &gt; 1 / EP &gt; 1; empty when the name does not
     * have exactly the suffixes those sizes imply.
     */
    public static Optional<RankId> parse(String name, boolean pipelineSuffix, boolean expertSuffix) {
        return numbers(name).flatMap(n -> {
            int expected = 1 + (pipelineSuffix ? 1 : 0) + (expertSuffix ? 1 : 0);
            if (n.size() != expected) return Optional.empty();
            int pp = pipelineSuffix ? n.get(1) : 0;
            int ep = expertSuffix ? n.get(n.size() - 1) : 0;
            return Optional.of(new RankId(n.get(0), pp, ep));
        });
    }

    @Override
    public int compareTo(RankId o) {
        if (pp != o.pp) return Integer.compare(pp, o.pp);
        if (ep != o.ep) return Integer.compare(ep, o.ep);
        return Integer.compare(tp, o.tp);
    }
}
