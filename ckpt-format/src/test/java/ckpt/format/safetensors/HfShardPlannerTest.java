package ckpt.format.safetensors;

import ckpt.format.safetensors.HfShardPlanner.Shard;
import ckpt.format.safetensors.HfShardPlanner.TensorSize;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HfShardPlannerTest {
    private static final long GB = 1_000_000_000L;

    @Test
    void parsesSizes() {
        assertThat(HfShardPlanner.parseSize("5GB")).isEqualTo(5_000_000_000L);
        assertThat(HfShardPlanner.parseSize("5GiB")).isEqualTo(5L << 30);
        assertThat(HfShardPlanner.parseSize("500MB")).isEqualTo(500_000_000L);
        assertThat(HfShardPlanner.parseSize("1.5TB")).isEqualTo(1_500_000_000_000L);
        assertThat(HfShardPlanner.parseSize(" 10 kb ")).isEqualTo(10_000L);
        assertThat(HfShardPlanner.parseSize("2MiB")).isEqualTo(2L << 20);
        assertThat(HfShardPlanner.parseSize("0.3GB")).isEqualTo(300_000_000L);
        assertThat(HfShardPlanner.parseSize("64B")).isEqualTo(64L);
        assertThat(HfShardPlanner.parseSize("12345")).isEqualTo(12345L);
        assertThat(HfShardPlanner.parseSize("50GB")).isEqualTo(50 * GB);
        for (String bad : List.of("", "GB", "5XB", "-1GB", "1e3GB", "9999999999TB", "5 G B")) {
            assertThatThrownBy(() -> HfShardPlanner.parseSize(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void docstringExample() {
        // huggingface_hub's docstring: limit 10GB, sizes [6,6,2,6,2,2]GB -> [6], [6+2], [6+2+2].
        List<TensorSize> t = List.of(new TensorSize("a", 6 * GB), new TensorSize("b", 6 * GB),
                new TensorSize("c", 2 * GB), new TensorSize("d", 6 * GB), new TensorSize("e", 2 * GB),
                new TensorSize("f", 2 * GB));
        HfShardPlanner.Plan plan = HfShardPlanner.plan(t, 10 * GB);
        assertThat(plan.shards()).containsExactly(
                new Shard("model-00001-of-00003.safetensors", List.of("a"), 6 * GB),
                new Shard("model-00002-of-00003.safetensors", List.of("b", "c"), 8 * GB),
                new Shard("model-00003-of-00003.safetensors", List.of("d", "e", "f"), 10 * GB));
        assertThat(plan.totalSize()).isEqualTo(24 * GB);
        assertThat(plan.isSharded()).isTrue();
        assertThat(plan.weightMap()).containsEntry("e", "model-00003-of-00003.safetensors").hasSize(6);
    }

    @Test
    void oversizedTensorIsClosedOffBeforeTheShardBeingFilled() {
        // The reference appends an oversized tensor's shard at once, so it precedes the open shard [a, c].
        List<TensorSize> t = List.of(new TensorSize("a", 4), new TensorSize("big", 20), new TensorSize("c", 4),
                new TensorSize("d", 4));
        assertThat(HfShardPlanner.plan(t, 10).shards()).extracting(Shard::names)
                .containsExactly(List.of("big"), List.of("a", "c"), List.of("d"));
    }

    @Test
    void boundariesAndSingleFile() {
        assertThat(HfShardPlanner.plan(List.of(new TensorSize("a", 5), new TensorSize("b", 5)), 5).shards())
                .extracting(Shard::names).containsExactly(List.of("a"), List.of("b"));
        HfShardPlanner.Plan one = HfShardPlanner.plan(List.of(new TensorSize("a", 5), new TensorSize("z", 0),
                new TensorSize("b", 5)), 10);
        assertThat(one.isSharded()).isFalse();
        assertThat(one.weightMap()).isEqualTo(Map.of("a", "model.safetensors", "z", "model.safetensors",
                "b", "model.safetensors"));
        assertThat(HfShardPlanner.plan(List.of(new TensorSize("huge", 50)), 10).shards())
                .containsExactly(new Shard("model.safetensors", List.of("huge"), 50));
        assertThat(HfShardPlanner.plan(List.of(), 10).shards()).isEmpty();
    }
}
