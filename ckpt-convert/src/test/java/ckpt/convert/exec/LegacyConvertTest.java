package ckpt.convert.exec;

import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The same training run saved as legacy {@code mp_rank_*} shards and as torch_dist converts to byte-identical
 * outputs: the legacy reader presents the same global tensors, so the whole conversion path is shared.
 */
class LegacyConvertTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = OutputFormat.class, names = {"PYTORCH", "HUGGINGFACE"}) // the formats Megatron checkpoints convert to
    void legacyAndTorchDistTwinsConvertToIdenticalBytes(OutputFormat format) throws IOException {
        Path legacy = tmp.resolve("legacy");
        Path dist = tmp.resolve("dist");
        new Converter().convert(ConvertOptions.of(Fixtures.path("megatron-llama-tp2-legacy-torch/checkpoint"), format, legacy),
                ConversionListener.NONE);
        new Converter().convert(ConvertOptions.of(Fixtures.path("megatron-llama-tp2/checkpoint"), format, dist),
                ConversionListener.NONE);
        List<String> names = list(dist);
        assertThat(list(legacy)).isEqualTo(names).isNotEmpty();
        for (String n : names)
            assertThat(Files.readAllBytes(legacy.resolve(n))).as(n).isEqualTo(Files.readAllBytes(dist.resolve(n)));
    }

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
