package ckpt.convert.rotation;

import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * What a rotation keeps.
 *
 * @param keepLast         keep the newest {@code keepLast} complete checkpoints (at least 1)
 * @param keepEvery        also keep complete checkpoints whose iteration is a multiple of this; 0 = off
 * @param keep             iterations kept whatever their state
 * @param removeIncomplete allow removing incomplete checkpoints older than the newest complete one
 * @param minAge           ...and only when nothing under them changed for this long
 */
public record RetentionPolicy(int keepLast, long keepEvery, Set<Long> keep, boolean removeIncomplete, Duration minAge) {
    public static final Duration DEFAULT_MIN_AGE = Duration.ofHours(1);

    public RetentionPolicy {
        if (keepLast < 1) throw new IllegalArgumentException("--keep-last must be at least 1, got " + keepLast);
        if (keepEvery < 0) throw new IllegalArgumentException("--keep-every must be positive, got " + keepEvery);
        Objects.requireNonNull(minAge);
        if (minAge.isNegative()) throw new IllegalArgumentException("--min-age must not be negative, got " + minAge);
        for (Long it : keep) {
            if (it == null || it < 0) throw new IllegalArgumentException("--keep iterations must be >= 0, got " + it);
        }
        keep = Set.copyOf(keep);
    }

    public static RetentionPolicy keepLast(int n) {
        return new RetentionPolicy(n, 0, Set.of(), false, DEFAULT_MIN_AGE);
    }
}
