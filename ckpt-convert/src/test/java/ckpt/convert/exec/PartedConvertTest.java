package ckpt.convert.exec;

import ckpt.convert.index.CheckpointIndex;
import ckpt.convert.index.Checkpoints;
import ckpt.convert.mapping.imports.MegatronArgs.Parallel;
import ckpt.convert.plan.DtypeChoice;
import ckpt.convert.plan.PartSpec;
import ckpt.format.FormatException;
import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code convert --part I/N} + {@code --finish} against the single-process conversion of the same checkpoint, which is
 * itself checked against PyTorch's/Megatron's references by the other convert tests: every fixture, both formats,
 * N = 1, 2, 3, 7 must give the same bytes; missing, truncated, foreign and killed parts are named and nothing is
 * published.
 */
class PartedConvertTest {
    /** Small shards so the huggingface output has many files to divide (and some parts get none). */
    static final long SHARD = 64 << 10;
    static final List<OutputFormat> PARTED = List.of(OutputFormat.PYTORCH, OutputFormat.HUGGINGFACE, OutputFormat.SAFETENSORS,
            OutputFormat.MEGATRON);

    @TempDir
    Path tmp;

    static List<Path> checkpoints() throws IOException {
        try (Stream<Path> s = Files.list(Fixtures.root())) {
            // Megatron/DCP fixtures keep the save under checkpoint/; DeepSpeed fixtures are the save dir themselves
            return s.map(d -> d.getFileName().toString().startsWith("deepspeed-") ? d : d.resolve("checkpoint"))
                    .filter(Files::isDirectory).sorted().toList();
        }
    }

    static ConvertOptions options(Path ckpt, OutputFormat f, Path out) {
        return ConvertOptions.of(ckpt, f, out).withMaxShardSize(SHARD);
    }

    @Test
    void everyFixtureAndFormatInNParts_equalsTheSingleProcessBytes() throws IOException {
        int compared = 0, deepspeed = 0;
        for (Path ckpt : checkpoints()) {
            try (CheckpointIndex index = Checkpoints.open(ckpt)) {
                for (OutputFormat f : PARTED) {
                    if (f == OutputFormat.MEGATRON) continue; // reads HF dirs: megatronOutputInNParts_equalsTheSingleProcessBytes
                    Path single = tmp.resolve(ckpt.getFileName() + "-" + ckpt.getParent().getFileName() + "-" + f.id());
                    try {
                        new Converter().convert(index, options(ckpt, f, single), ConversionListener.NONE);
                    } catch (FormatException refused) {
                        continue; // this source cannot become this format (e.g. DCP → huggingface); parts must refuse alike
                    }
                    Map<String, byte[]> expected = files(single);
                    for (int n : new int[]{1, 2, 3, 7}) {
                        Path out = tmp.resolve(single.getFileName() + "-" + n);
                        ConvertOptions o = options(ckpt, f, out);
                        // parts in reverse order: completion order must not matter
                        for (int i = n; i >= 1; i--) new PartedConverter().part(index, o, new PartSpec(i, n), ConversionListener.NONE);
                        assertThat(out).doesNotExist();
                        new PartedConverter().finish(index, o, ConversionListener.NONE);
                        assertSameFiles(expected, out, ckpt + " " + f.id() + " in " + n + " parts");
                        assertThat(PartedConverter.stagingDir(out)).doesNotExist();
                        compared++;
                        if (ckpt.getFileName().toString().startsWith("deepspeed-")) deepspeed++;
                    }
                }
            }
        }
        // every Megatron save (torch_dist, core 0.14, legacy, Qwen3, 8B metadata-only refuses) in both formats and the
        // DCP saves as pytorch: at least 11 source/format pairs, 4 part counts each
        assertThat(compared).isGreaterThanOrEqualTo(4 * 11);
        assertThat(deepspeed).as("DeepSpeed saves converted in parts").isPositive();
    }

    @Test
    void missingPart_isNamed_andNothingIsPublished() throws IOException {
        for (OutputFormat f : PARTED) {
            Path out = tmp.resolve("missing-" + f.id());
            ConvertOptions o = damageCase(f, out);
            runParts(o, 3, 1, 3);
            assertThatThrownBy(() -> new PartedConverter().finish(o, ConversionListener.NONE))
                    .isInstanceOf(FormatException.class).hasMessageContaining("part 2/3 has not completed")
                    .hasMessageContaining("--part 2/3");
            assertThat(out).doesNotExist();
        }
    }

    @Test
    void truncatedPart_isNamed_andNothingIsPublished() throws IOException {
        for (OutputFormat f : PARTED) {
            Path out = tmp.resolve("truncated-" + f.id());
            ConvertOptions o = damageCase(f, out);
            runParts(o, 3, 1, 2, 3);
            PartRegion r = firstRegionOf(out, 2, 3);
            Path file = PartedConverter.stagingDir(out).resolve("out").resolve(r.file());
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                raf.setLength(r.offset() + r.length() / 2);
            }
            assertThatThrownBy(() -> new PartedConverter().finish(o, ConversionListener.NONE))
                    .isInstanceOf(FormatException.class).hasMessageContaining("part 2/3 is incomplete");
            assertThat(out).doesNotExist();
        }
    }

    /**
     * A part file damaged after its part completed (one byte changed inside a region the part wrote; the size is
     * right) is found by --finish's read-back against the part's recorded CRC-32: one error naming the part and the
     * file, nothing published; re-running that part repairs it. With --no-verify the sizes alone are checked.
     */
    @Test
    void damagedPartFile_isNamedByItsCrc_andNothingIsPublished() throws IOException {
        for (OutputFormat f : PARTED) {
            Path out = tmp.resolve("damaged-" + f.id());
            Map<String, byte[]> expected = single(f, out);
            ConvertOptions o = damageCase(f, out);
            runParts(o, 3, 1, 2, 3);
            PartRegion r = firstRegionOf(out, 2, 3);
            Path file = PartedConverter.stagingDir(out).resolve("out").resolve(r.file());
            long at = r.offset() + r.length() / 2;
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                raf.seek(at);
                int b = raf.read();
                raf.seek(at);
                raf.write(b ^ 0x10);
            }
            assertThatThrownBy(() -> new PartedConverter().finish(o, ConversionListener.NONE))
                    .isInstanceOf(FormatException.class)
                    .hasMessageContaining(file.toString()).hasMessageContaining("part 2/3 is damaged")
                    .hasMessageContaining("nothing was published").hasMessageContaining("--part 2/3");
            assertThat(out).doesNotExist();
            runParts(o, 3, 2);
            new PartedConverter().finish(o, ConversionListener.NONE);
            assertSameFiles(expected, out, f.id() + " after re-running the damaged part");
        }
    }

    @Test
    void damagedPartFile_withNoVerify_onlySizesAreChecked() throws IOException {
        Path out = tmp.resolve("unverified");
        ConvertOptions o = options(llama(), OutputFormat.PYTORCH, out).withVerifyRecords(false);
        runParts(o, 2, 1, 2);
        PartRegion r = firstRegionOf(out, 1, 2);
        try (RandomAccessFile raf = new RandomAccessFile(PartedConverter.stagingDir(out).resolve("out").resolve(r.file()).toFile(), "rw")) {
            raf.seek(r.offset());
            raf.write(~raf.read());
        }
        new PartedConverter().finish(o, ConversionListener.NONE);
        assertThat(out.resolve(Converter.MODEL_PT)).exists();
    }

    @Test
    void partsOfAnotherPlan_areRefused_atFinishAndAtStart() throws IOException {
        for (OutputFormat f : PARTED) {
            Path out = tmp.resolve("foreign-" + f.id());
            Map<String, byte[]> expected = single(f, out);
            ConvertOptions o = damageCase(f, out);
            runParts(o, 3, 1, 2, 3);
            ConvertOptions other = o.withDtype(DtypeChoice.parse("fp32"));
            assertThatThrownBy(() -> new PartedConverter().finish(other, ConversionListener.NONE))
                    .isInstanceOf(FormatException.class).hasMessageContaining("part 1/3 was written for a different plan");
            assertThat(out).doesNotExist();
            assertThatThrownBy(() -> new PartedConverter().part(other, new PartSpec(2, 3), ConversionListener.NONE))
                    .isInstanceOf(FormatException.class).hasMessageContaining("different plan");
            assertThatThrownBy(() -> new PartedConverter().part(o, new PartSpec(2, 4), ConversionListener.NONE))
                    .isInstanceOf(FormatException.class).hasMessageContaining("in 3 parts, this task asks for 4");
            // the refusals touched nothing: the original parts still finish
            new PartedConverter().finish(o, ConversionListener.NONE);
            assertSameFiles(expected, out, f.id());
        }
    }

    @Test
    void partKilledMidWrite_thenReRun_givesTheSameBytes() throws IOException {
        for (OutputFormat f : PARTED) {
            Path out = tmp.resolve("killed-" + f.id());
            Map<String, byte[]> expected = single(f, out);
            ConvertOptions o = damageCase(f, out);
            runParts(o, 3, 1, 2, 3);
            // what a kill leaves: no marker, and the part's bytes half written (garbage in its regions)
            List<PartRegion> regions = regionsOf(out, 2, 3);
            Path staging = PartedConverter.stagingDir(out);
            Files.delete(staging.resolve("part-00002-of-00003.done.json"));
            for (PartRegion r : regions) {
                try (RandomAccessFile raf = new RandomAccessFile(staging.resolve("out").resolve(r.file()).toFile(), "rw")) {
                    raf.seek(r.offset() + r.length() / 3);
                    raf.write(new byte[(int) Math.min(r.length() / 3, 4096)], 0, (int) Math.min(r.length() / 3, 4096));
                    raf.seek(r.offset());
                    raf.write(0x5a);
                }
            }
            assertThatThrownBy(() -> new PartedConverter().finish(o, ConversionListener.NONE))
                    .isInstanceOf(FormatException.class).hasMessageContaining("part 2/3 has not completed");
            assertThat(out).doesNotExist();
            runParts(o, 3, 2);
            runParts(o, 3, 2); // idempotent: a second re-run changes nothing
            new PartedConverter().finish(o, ConversionListener.NONE);
            assertSameFiles(expected, out, f.id() + " after re-running part 2");
        }
    }

    /**
     * HF → Megatron imports (ckpt's HF exports of the Llama and Qwen3 fixtures, which MegatronImportTest checks
     * against Megatron's own tensors) at several layouts: N parts write the same rank files, {@code .metadata},
     * {@code metadata.json} and tracker byte for byte as one process.
     */
    @Test
    void megatronOutputInNParts_equalsTheSingleProcessBytes() throws IOException {
        int compared = 0;
        for (String fixture : List.of("megatron-llama-tp2", "megatron-qwen3-tp2")) {
            Path hf = tmp.resolve("hf-" + fixture);
            new Converter().convert(ConvertOptions.of(Fixtures.path(fixture, "checkpoint"), OutputFormat.HUGGINGFACE, hf), ConversionListener.NONE);
            for (Parallel layout : List.of(new Parallel(1, 1, 1), new Parallel(2, 1, 1), new Parallel(2, 2, 1))) {
                Path single = tmp.resolve("mcore-" + fixture + "-" + layout.tp() + "x" + layout.pp());
                ConvertOptions one = ConvertOptions.of(hf, OutputFormat.MEGATRON, single).withParallel(layout);
                new Converter().convert(one, ConversionListener.NONE);
                Map<String, byte[]> expected = files(single);
                assertThat(expected).containsKeys("release/.metadata", "release/__0_0.distcp", "release/metadata.json",
                        "latest_checkpointed_iteration.txt");
                for (int n : new int[]{1, 2, 3, 4, 7}) {
                    // the same target path as the one-process run: .metadata names it (storage_meta.checkpoint_id)
                    Fixtures.deleteTree(single);
                    ConvertOptions o = ConvertOptions.of(hf, OutputFormat.MEGATRON, single).withParallel(layout);
                    for (int i = n; i >= 1; i--) new PartedConverter().part(o, new PartSpec(i, n), ConversionListener.NONE);
                    assertThat(single).doesNotExist();
                    ConvertResult r = new PartedConverter().finish(o, ConversionListener.NONE);
                    assertThat(r.megatronFlags()).contains("--tensor-model-parallel-size");
                    assertSameFiles(expected, single, fixture + " " + layout + " in " + n + " parts");
                    compared++;
                }
            }
        }
        assertThat(compared).isEqualTo(2 * 3 * 5);
    }

    @Test
    void finishWithoutParts_saysSo() {
        Path out = tmp.resolve("none");
        assertThatThrownBy(() -> new PartedConverter().finish(options(llama(), OutputFormat.PYTORCH, out), ConversionListener.NONE))
                .isInstanceOf(FormatException.class).hasMessageContaining("no parts to finish");
    }

    @Test
    void existingOutput_isRefusedByPartsAndFinish_unlessForced() throws IOException {
        Path out = tmp.resolve("exists");
        Map<String, byte[]> expected = single(OutputFormat.PYTORCH, out);
        Files.createDirectory(out);
        ConvertOptions o = options(llama(), OutputFormat.PYTORCH, out);
        assertThatThrownBy(() -> new PartedConverter().part(o, new PartSpec(1, 2), ConversionListener.NONE))
                .isInstanceOf(java.nio.file.FileAlreadyExistsException.class);
        runParts(o.withForce(true), 2, 1, 2);
        new PartedConverter().finish(o.withForce(true), ConversionListener.NONE);
        assertSameFiles(expected, out, "forced");
    }

    /**
     * A --finish killed after publishing DIR (out/ renamed to it) and before deleting DIR.parts leaves the plan and the
     * markers: the next --finish or --part names that state in one line (before: "output directory exists"; with
     * --force a part would join the stale plan and the finish would call the other parts damaged).
     */
    @Test
    void staleStagingDirOfAPublishedOutput_isNamedByFinishAndParts() throws IOException {
        Path out = tmp.resolve("stale");
        ConvertOptions o = options(llama(), OutputFormat.SAFETENSORS, out);
        runParts(o, 2, 1, 2);
        Path staging = PartStaging.of(out).dir();
        Path saved = tmp.resolve("saved.parts");
        Fixtures.copyTree(staging, saved);
        new PartedConverter().finish(o, ConversionListener.NONE);
        Fixtures.deleteTree(saved.resolve(PartStaging.OUT));
        Files.move(saved, staging); // what the kill between publish and cleanup leaves
        Map<String, String> published = Fixtures.treeSha256(out);
        for (ConvertOptions each : List.of(o, o.withForce(true))) {
            assertThatThrownBy(() -> new PartedConverter().finish(each, ConversionListener.NONE))
                    .isInstanceOf(FormatException.class)
                    .hasMessageStartingWith(staging + ": left over from a --finish that published " + out.toAbsolutePath().normalize() + " (complete)")
                    .hasMessageContaining("delete stale.parts (nothing was changed)");
            assertThatThrownBy(() -> new PartedConverter().part(each, new PartSpec(1, 2), ConversionListener.NONE))
                    .isInstanceOf(FormatException.class).hasMessageContaining("left over from a --finish");
        }
        assertThat(Fixtures.treeSha256(out)).isEqualTo(published);
        assertThat(staging.resolve(PartStaging.OUT)).doesNotExist();
    }

    // ---------------------------------------------------------------------------------------------------------

    static Path llama() {
        return Fixtures.path("megatron-llama-tp2/checkpoint");
    }

    /** The Llama fixture as the format takes it: the Megatron save, or (megatron) ckpt's HF export of it, at TP 2. */
    private ConvertOptions damageCase(OutputFormat f, Path out) throws IOException {
        if (f != OutputFormat.MEGATRON) return options(llama(), f, out);
        Path hf = tmp.resolve("llama-hf");
        if (!Files.exists(hf)) new Converter().convert(ConvertOptions.of(llama(), OutputFormat.HUGGINGFACE, hf), ConversionListener.NONE);
        return ConvertOptions.of(hf, f, out).withParallel(new Parallel(2, 1, 1));
    }

    /** The one-process output of {@link #damageCase}, written to where {@code out} will be (.metadata names it). */
    private Map<String, byte[]> single(OutputFormat f, Path out) throws IOException {
        if (Files.exists(out)) Fixtures.deleteTree(out);
        new Converter().convert(damageCase(f, out), ConversionListener.NONE);
        Map<String, byte[]> m = files(out);
        Fixtures.deleteTree(out);
        return m;
    }

    private static void runParts(ConvertOptions o, int n, int... parts) throws IOException {
        for (int i : parts) new PartedConverter().part(o, new PartSpec(i, n), ConversionListener.NONE);
    }

    private static List<PartRegion> regionsOf(Path out, int part, int n) throws IOException {
        PartStaging s = PartStaging.of(out);
        List<PartRegion> r = s.readMarker(part, n).orElseThrow().regions();
        assertThat(r).as("part %d/%d has something to write", part, n).isNotEmpty();
        return r;
    }

    private static PartRegion firstRegionOf(Path out, int part, int n) throws IOException {
        return regionsOf(out, part, n).stream().filter(r -> r.length() > 1).findFirst().orElseThrow();
    }

    static Map<String, byte[]> files(Path dir) throws IOException {
        Map<String, byte[]> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) m.put(dir.relativize(p).toString(), Files.readAllBytes(p));
        }
        return m;
    }

    static void assertSameFiles(Map<String, byte[]> expected, Path dir, String what) throws IOException {
        Map<String, byte[]> actual = files(dir);
        assertThat(actual.keySet()).as(what + ": files").isEqualTo(expected.keySet());
        List<String> differ = new ArrayList<>();
        for (var e : expected.entrySet()) if (!java.util.Arrays.equals(e.getValue(), actual.get(e.getKey()))) differ.add(e.getKey());
        assertThat(differ).as(what + ": files whose bytes differ").isEmpty();
    }
}
