package ckpt.format.megatron;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Megatron ShardedObject keys, {@code <key>/shard_<offsets>_<shape>} (FORMATS.md §4.3). */
class ShardedObjectKeyTest {
    @Test
    void offsetsAndShapeAreRead() {
        ShardedObjectKey k = ShardedObjectKey.parse("optimizer.distributed.dp_group_idx_0/shard_0.3_1.8").orElseThrow();
        assertThat(k.key()).isEqualTo("optimizer.distributed.dp_group_idx_0");
        assertThat(k.offsets()).containsExactly(0, 3);
        assertThat(k.shape()).containsExactly(1, 8);
    }

    @Test
    void olderWritersOmitTheLastShapeEntry() {
        ShardedObjectKey k = ShardedObjectKey.parse("rng_state/shard_0.12_1").orElseThrow();
        assertThat(k.offsets()).containsExactly(0, 12);
        assertThat(k.shape()).containsExactly(1, -1);
    }

    @Test
    void anythingElseIsNoShardKey() {
        assertThat(ShardedObjectKey.parse("decoder.layers.mlp.linear_fc1.weight")).isEmpty();
        assertThat(ShardedObjectKey.parse("x/shard_0..1_1.1.1")).isEmpty();      // an empty number
        assertThat(ShardedObjectKey.parse("x/shard_0.a_1.1")).isEmpty();         // not a number
        assertThat(ShardedObjectKey.parse("x/shard_0.1_1.1_2")).isEmpty();       // three parts
        assertThat(ShardedObjectKey.parse("x/shard_0.1.2_1")).isEmpty();         // ranks differ by more than one
        assertThat(ShardedObjectKey.parse("x/notshard_0_1")).isEmpty();
    }
}
