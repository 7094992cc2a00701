package ckpt.convert.plan;

import java.util.Map;

/**
 * One share of divisible work: part {@code index} of {@code count}, 1-based ({@code --part 2/3}). Every process
 * computes the same plan and takes the {@code index}-th of {@code count} byte-balanced parts ({@link PartSplit}).
 */
public record PartSpec(int index, int count) {
    /** Hostile or mistyped counts would create millions of markers; real arrays are far smaller. */
    public static final int MAX_PARTS = 100_000;

    public PartSpec {
        if (count < 1 || count > MAX_PARTS) throw new IllegalArgumentException("part count must be 1…" + MAX_PARTS + ", got " + count);
        if (index < 1 || index > count) throw new IllegalArgumentException("part " + index + " of " + count + ": need 1 ≤ I ≤ N");
    }

    /**
     * {@code I/N} (1-based), or {@code slurm}: the task's place in a Slurm job array, else in an {@code srun} step.
     *
     * @throws IllegalArgumentException with a usage message
     */
    public static PartSpec parse(String s, Map<String, String> env) {
        if (s.equals("slurm")) return slurm(env);
        int slash = s.indexOf('/');
        if (slash < 0) throw new IllegalArgumentException("--part takes I/N (e.g. 2/8, 1-based) or 'slurm', got '" + s + "'");
        return new PartSpec(number(s.substring(0, slash), s), number(s.substring(slash + 1), s));
    }

    /**
     * A job array ({@code sbatch --array=A-B}): the part is the task's position in the range, so the array may start at
     * any id, but it must be contiguous with step 1 ({@code SLURM_ARRAY_TASK_COUNT == MAX - MIN + 1}). Without an array,
     * an {@code srun} step's task: {@code SLURM_PROCID + 1} of {@code SLURM_NTASKS}.
     */
    static PartSpec slurm(Map<String, String> env) {
        String id = env.get("SLURM_ARRAY_TASK_ID");
        if (id != null) {
            int task = number(id, "SLURM_ARRAY_TASK_ID=" + id);
            int min = number(require(env, "SLURM_ARRAY_TASK_MIN"), "SLURM_ARRAY_TASK_MIN");
            int max = number(require(env, "SLURM_ARRAY_TASK_MAX"), "SLURM_ARRAY_TASK_MAX");
            String countVar = env.get("SLURM_ARRAY_TASK_COUNT");
            int count = max - min + 1;
            String step = env.getOrDefault("SLURM_ARRAY_TASK_STEP", "1");
            if ((countVar != null && number(countVar, "SLURM_ARRAY_TASK_COUNT") != count) || !step.equals("1"))
                throw new IllegalArgumentException("--part slurm needs a contiguous job array (e.g. --array=0-" + (count - 1)
                        + "); this one has ids " + min + "…" + max + " step " + step
                        + (countVar == null ? "" : " and " + countVar + " tasks"));
            return new PartSpec(task - min + 1, count);
        }
        String procId = env.get("SLURM_PROCID");
        String ntasks = env.get("SLURM_NTASKS");
        if (procId != null && ntasks != null)
            return new PartSpec(number(procId, "SLURM_PROCID") + 1, number(ntasks, "SLURM_NTASKS"));
        throw new IllegalArgumentException("--part slurm: neither SLURM_ARRAY_TASK_ID (sbatch --array) nor SLURM_PROCID/SLURM_NTASKS (srun) is set");
    }

    private static String require(Map<String, String> env, String name) {
        String v = env.get(name);
        if (v == null) throw new IllegalArgumentException("--part slurm: SLURM_ARRAY_TASK_ID is set but " + name + " is not");
        return v;
    }

    private static int number(String s, String what) {
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--part: '" + what + "' is not a whole number");
        }
    }

    /** 0-based index, for array arithmetic. */
    public int zeroBased() {
        return index - 1;
    }

    @Override
    public String toString() {
        return index + "/" + count;
    }
}
