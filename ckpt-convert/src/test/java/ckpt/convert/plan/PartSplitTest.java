package ckpt.convert.plan;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PartSplitTest {
    @Test
    void partsAreContiguous_coverEveryUnit_andAreBalancedWithinOneUnit() {
        Random rnd = new Random(19);
        for (int trial = 0; trial < 2000; trial++) {
            int units = 1 + rnd.nextInt(200);
            int parts = 1 + rnd.nextInt(16);
            long[] bytes = new long[units];
            long total = 0, largest = 0;
            for (int i = 0; i < units; i++) {
                bytes[i] = rnd.nextInt(4) == 0 ? 0 : 1 + (long) (rnd.nextDouble() * (1L << (10 + rnd.nextInt(30))));
                total += bytes[i];
                largest = Math.max(largest, bytes[i]);
            }
            int[] a = PartSplit.assign(bytes, parts);
            long[] perPart = new long[parts];
            for (int i = 0; i < units; i++) {
                assertThat(a[i]).isBetween(0, parts - 1);
                if (i > 0) assertThat(a[i]).isGreaterThanOrEqualTo(a[i - 1]);
                perPart[a[i]] += bytes[i];
            }
            double ideal = (double) total / parts;
            for (long p : perPart) assertThat((double) p).isLessThanOrEqualTo(ideal + largest);
        }
    }

    @Test
    void equalUnits_divideEvenly_andZeroBytesDivideByCount() {
        assertThat(PartSplit.assign(new long[]{10, 10, 10, 10, 10, 10}, 3)).containsExactly(0, 0, 1, 1, 2, 2);
        assertThat(PartSplit.assign(new long[]{0, 0, 0, 0}, 2)).containsExactly(0, 0, 1, 1);
        assertThat(PartSplit.assign(new long[]{100, 1, 1}, 7)).containsExactly(3, 6, 6);
    }

    @Test
    void partSpec_parsesIOverN_andSlurmArraysThatStartAnywhere() {
        assertThat(PartSpec.parse("2/8", Map.of())).isEqualTo(new PartSpec(2, 8));
        assertThat(PartSpec.parse("slurm", Map.of("SLURM_ARRAY_TASK_ID", "5", "SLURM_ARRAY_TASK_MIN", "5",
                "SLURM_ARRAY_TASK_MAX", "7", "SLURM_ARRAY_TASK_COUNT", "3"))).isEqualTo(new PartSpec(1, 3));
        assertThat(PartSpec.parse("slurm", Map.of("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_MIN", "0",
                "SLURM_ARRAY_TASK_MAX", "2"))).isEqualTo(new PartSpec(3, 3));
        assertThat(PartSpec.parse("slurm", Map.of("SLURM_PROCID", "0", "SLURM_NTASKS", "4"))).isEqualTo(new PartSpec(1, 4));
        // the array wins over an srun step inside it (each array task is its own 1-task job)
        assertThat(PartSpec.parse("slurm", Map.of("SLURM_ARRAY_TASK_ID", "1", "SLURM_ARRAY_TASK_MIN", "0",
                "SLURM_ARRAY_TASK_MAX", "3", "SLURM_PROCID", "0", "SLURM_NTASKS", "1"))).isEqualTo(new PartSpec(2, 4));
    }

    @Test
    void partSpec_refusesWhatCannotBeDivided() {
        assertThatThrownBy(() -> PartSpec.parse("0/3", Map.of())).hasMessageContaining("1 ≤ I ≤ N");
        assertThatThrownBy(() -> PartSpec.parse("4/3", Map.of())).hasMessageContaining("1 ≤ I ≤ N");
        assertThatThrownBy(() -> PartSpec.parse("3", Map.of())).hasMessageContaining("I/N");
        assertThatThrownBy(() -> PartSpec.parse("a/b", Map.of())).hasMessageContaining("not a whole number");
        assertThatThrownBy(() -> PartSpec.parse("1/0", Map.of())).hasMessageContaining("part count");
        assertThatThrownBy(() -> PartSpec.parse("slurm", Map.of())).hasMessageContaining("SLURM_ARRAY_TASK_ID");
        assertThatThrownBy(() -> PartSpec.parse("slurm", Map.of("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_MIN", "0",
                "SLURM_ARRAY_TASK_MAX", "4", "SLURM_ARRAY_TASK_COUNT", "3", "SLURM_ARRAY_TASK_STEP", "2")))
                .hasMessageContaining("contiguous job array");
    }
}
