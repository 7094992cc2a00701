package ckpt.convert.exec;

import ckpt.convert.plan.PartSpec;
import ckpt.convert.reshard.ReshardOptions;
import ckpt.convert.reshard.Resharder;
import ckpt.format.Writeback;
import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SortedMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code --no-fsync}: the same bytes published the same way (staging dir + rename), with no force of any file or
 * directory — seen through the writeback's flush, which every force of an output goes through.
 */
class NoFsyncTest {
    private static final Path LLAMA = Fixtures.path("megatron-llama-tp2", "checkpoint");

    @TempDir
    Path tmp;

    /** A converter whose every force (background, final, publish) is counted into {@code forces}. */
    private static Converter counting(AtomicInteger forces) {
        // every 4 KiB written asks for a background flush: a durable run of the fixture flushes many times
        return new Converter(new PlanExecutor(64 << 10, 2, TensorKernels.CPU), () -> new Writeback(4096, (ch, metadata) -> {
            forces.incrementAndGet();
            ch.force(metadata);
        }));
    }

    /** The output's files (relative path → sha256); the output is removed so that the next run writes the same path. */
    private static SortedMap<String, String> takeTree(Path out) throws IOException {
        SortedMap<String, String> m = Fixtures.treeSha256(out);
        Fixtures.deleteTree(out);
        return m;
    }

    @ParameterizedTest
    @EnumSource(value = OutputFormat.class, names = {"PYTORCH", "SAFETENSORS", "HUGGINGFACE"})
    void noFsyncWritesTheSameBytesAndForcesNothing(OutputFormat format) throws IOException {
        Path out = tmp.resolve("out");
        AtomicInteger durableForces = new AtomicInteger();
        counting(durableForces).convert(ConvertOptions.of(LLAMA, format, out), ConversionListener.NONE);
        SortedMap<String, String> durable = takeTree(out);
        assertThat(durableForces.get()).as("the default forces every file and dir").isGreaterThan(durable.size());

        AtomicInteger forces = new AtomicInteger();
        ConvertResult r = counting(forces).convert(ConvertOptions.of(LLAMA, format, out).withFsync(false), ConversionListener.NONE);
        assertThat(r.outputDir()).isEqualTo(out.toAbsolutePath().normalize());
        assertThat(forces.get()).as("no force with --no-fsync").isZero();
        assertThat(takeTree(out)).isEqualTo(durable);
        try (var s = Files.list(tmp)) {
            assertThat(s.toList()).as("no staging dir left").isEmpty();
        }
    }

    @Test
    void partsAndFinishWithoutFsyncPublishTheSameBytes() throws IOException {
        Path out = tmp.resolve("out");
        ConvertOptions o = ConvertOptions.of(LLAMA, OutputFormat.SAFETENSORS, out).withMaxShardSize(1 << 20);
        new Converter().convert(o, ConversionListener.NONE);
        SortedMap<String, String> single = takeTree(out);

        PartedConverter parted = new PartedConverter(new PlanExecutor());
        ConvertOptions fast = o.withFsync(false);
        for (int i = 1; i <= 3; i++) parted.part(fast, new PartSpec(i, 3), ConversionListener.NONE);
        parted.finish(fast, ConversionListener.NONE);
        assertThat(takeTree(out)).isEqualTo(single);
        assertThat(tmp.resolve("out.parts")).doesNotExist();
    }

    @Test
    void reshardWithoutFsyncWritesTheSameBytes() throws IOException {
        Path out = tmp.resolve("out");
        ReshardOptions o = ReshardOptions.of(LLAMA, out).withLayout(1, 1);
        new Resharder().reshard(o, ConversionListener.NONE);
        SortedMap<String, String> durable = takeTree(out);

        new Resharder().reshard(o.withFsync(false), ConversionListener.NONE);
        assertThat(takeTree(out)).isEqualTo(durable);

        for (int i = 1; i <= 2; i++) new Resharder().part(o.withFsync(false), new PartSpec(i, 2), ConversionListener.NONE);
        new Resharder().finish(o.withFsync(false), ConversionListener.NONE);
        assertThat(takeTree(out)).isEqualTo(durable);
    }
}
