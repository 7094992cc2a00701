package ckpt.format.megatron;

import java.util.Arrays;
import java.util.Optional;

/**
 * The DCP key of a Megatron ShardedObject: {@code <key>/shard_<offsets>_<shape>}, dot-separated integers
 * (FORMATS.md §4.3). Old writers omitted the last shape entry; it is then -1.
 */
public record ShardedObjectKey(String key, long[] offsets, long[] shape) {
    public static Optional<ShardedObjectKey> parse(String fqn) {
        int slash = fqn.lastIndexOf('/');
        if (slash < 0) return Optional.empty();
        String shard = fqn.substring(slash + 1);
        if (!shard.startsWith("shard_")) return Optional.empty();
        String[] parts = shard.substring(6).split("_", -1);
        if (parts.length != 2) return Optional.empty();
        try {
            long[] off = ints(parts[0]);
            long[] shape = ints(parts[1]);
            if (shape.length == off.length - 1) {
                shape = Arrays.copyOf(shape, off.length);
                shape[off.length - 1] = -1;
            }
            if (shape.length != off.length) return Optional.empty();
            return Optional.of(new ShardedObjectKey(fqn.substring(0, slash), off, shape));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** A loop, not a stream: every ShardedObject key of a checkpoint comes here (17 k in a 405B one), most before the JIT has. */
    private static long[] ints(String s) {
        if (s.isEmpty()) return new long[0];
        String[] parts = s.split("\\.");
        long[] out = new long[parts.length];
        for (int i = 0; i < parts.length; i++) out[i] = Long.parseLong(parts[i]);
        return out;
    }
}
