package ckpt.convert.rotation;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class CheckpointNameTest {
    @Test
    void recognisesEveryManagedName() {
        assertThat(CheckpointName.parse("iter_0001000")).hasValue(new CheckpointName("iter_0001000", "iter_0001000", CheckpointKind.MEGATRON_ITERATION, 1000, false));
        assertThat(CheckpointName.parse("iter_12345678").orElseThrow().iteration()).isEqualTo(12_345_678L);
        assertThat(CheckpointName.parse("release").orElseThrow().kind()).isEqualTo(CheckpointKind.MEGATRON_RELEASE);
        assertThat(CheckpointName.parse("release").orElseThrow().iteration()).isZero();
        assertThat(CheckpointName.parse("global_step1000").orElseThrow().kind()).isEqualTo(CheckpointKind.DEEPSPEED);
        for (String s : new String[]{"step-1000", "step_1000", "checkpoint-1000", "checkpoint_1000"}) {
            CheckpointName n = CheckpointName.parse(s).orElseThrow();
            assertThat(n.kind()).isEqualTo(CheckpointKind.STEP_DIR);
            assertThat(n.iteration()).isEqualTo(1000);
        }
    }

    @Test
    void markedNamesKeepTheOriginalIteration() {
        CheckpointName n = CheckpointName.parse(".deleting.iter_0000042").orElseThrow();
        assertThat(n.marked()).isTrue();
        assertThat(n.original()).isEqualTo("iter_0000042");
        assertThat(n.iteration()).isEqualTo(42);
        assertThat(CheckpointName.parse("iter_0000042").orElseThrow().markedName()).isEqualTo(".deleting.iter_0000042");
    }

    @Test
    void ignoresEverythingElse() {
        for (String s : new String[]{"latest", "latest_checkpointed_iteration.txt", "iter_", "iter_12a", "iter_-1",
                "zero_to_fp32.py", "global_step", "step1000", "iter_0000001.tmp", ".deleting.", ".deleting.foo",
                "iter_1234567890123456789", "non_persistent", ".ckpt-rotate.lock"}) {
            assertThat(CheckpointName.parse(s)).as(s).isEmpty();
        }
    }

    @Test
    void megatronDirNamePadsToSevenDigits() {
        assertThat(CheckpointName.megatronDirName(4)).isEqualTo("iter_0000004");
        assertThat(CheckpointName.megatronDirName(123_456_789)).isEqualTo("iter_123456789");
    }
}
