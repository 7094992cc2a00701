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

    /**
     * A Megatron torch_dist output (HF → Megatron): its small {@code .metadata} is forced when written, and that force
     * too goes through the writeback, so {@code --no-fsync} skips it like every other. A force that bypassed the
     * writeback would be invisible to the no-fsync count; the durable run shows it went through: the {@code .metadata}
     * (the one file of its size) is forced twice, when written and when the output is published.
     */
    @Test
    void megatronMetadataIsForcedThroughTheWriteback() throws IOException {
        Path hf = tmp.resolve("hf");
        new Converter().convert(ConvertOptions.of(LLAMA, OutputFormat.HUGGINGFACE, hf), ConversionListener.NONE);
        Path out = tmp.resolve("out");
        java.util.List<Long> forcedSizes = new java.util.concurrent.CopyOnWriteArrayList<>(); // the writers' channels are write-only
        Converter durableConverter = new Converter(new PlanExecutor(64 << 10, 2, TensorKernels.CPU), () -> new Writeback(4096, (ch, metadata) -> {
            forcedSizes.add(ch.size());
            ch.force(metadata);
        }));
        durableConverter.convert(ConvertOptions.of(hf, OutputFormat.MEGATRON, out), ConversionListener.NONE);
        long size = Files.size(out.resolve("release/.metadata"));
        try (var s = Files.walk(out)) { // no other file of the output has the .metadata's size
            assertThat(s.filter(Files::isRegularFile).filter(p -> {
                try {
                    return Files.size(p) == size;
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).count()).isEqualTo(1);
        }
        long metadataForces = forcedSizes.stream().filter(n -> n == size).count();
        assertThat(metadataForces).as(".metadata forced through the writeback when written and at publish").isEqualTo(2);
        SortedMap<String, String> durable = takeTree(out);

        AtomicInteger forces = new AtomicInteger();
        counting(forces).convert(ConvertOptions.of(hf, OutputFormat.MEGATRON, out).withFsync(false), ConversionListener.NONE);
        assertThat(forces.get()).as("no force with --no-fsync").isZero();
        assertThat(takeTree(out)).isEqualTo(durable);
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
