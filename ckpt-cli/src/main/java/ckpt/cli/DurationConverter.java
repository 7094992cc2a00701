package ckpt.cli;

import ckpt.convert.rotation.Durations;
import picocli.CommandLine;

import java.time.Duration;

/** picocli converter for {@code 90s}, {@code 30m}, {@code 1h}, {@code 2d}: a bad value is a usage error (exit 2). */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
        try {
            return Durations.parse(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
