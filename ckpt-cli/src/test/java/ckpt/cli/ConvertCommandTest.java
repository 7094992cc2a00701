package ckpt.cli;

import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static ckpt.cli.RotationCommandsTest.ckpt;
import static org.assertj.core.api.Assertions.assertThat;

class ConvertCommandTest {
    @TempDir
    Path tmp;

    static final Path CKPT = Fixtures.path("megatron-llama-tp2/checkpoint");

    @Test
    void convertsToHuggingfaceAndReportsJson() throws Exception {
        Path out = tmp.resolve("hf");
        RotationCommandsTest.Run r = ckpt("convert", CKPT, "--format", "huggingface", "--output-dir", out, "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("schema").asText()).isEqualTo("ckpt.convert/1");
        assertThat(j.get("ckpt_version").asText()).isEqualTo(BuildInfo.CURRENT.full());
        assertThat(j.get("architecture").asText()).isEqualTo("LlamaForCausalLM");
        assertThat(j.get("iteration").asLong()).isEqualTo(4);
        assertThat(j.get("tensors").asInt()).isEqualTo(2 + 9 * 4 + 1);
        assertThat(j.get("files").toString()).contains("config.json", "model-00001-of-00001.safetensors", "model.safetensors.index.json");
        assertThat(r.err()).contains("warning: no tokenizer files");
        assertThat(out.resolve("config.json")).exists();
    }

    @Test
    void pytorchSummaryAndExistingDirRefused() throws Exception {
        Path out = tmp.resolve("pt");
        RotationCommandsTest.Run r = ckpt("convert", CKPT, "--format", "pytorch", "--output-dir", out, "--dtype", "fp32");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("converted megatron_torch_dist iteration 4").contains("pytorch").contains("27 tensors");
        assertThat(out.resolve("model.pt")).exists();

        RotationCommandsTest.Run again = ckpt("convert", CKPT, "--format", "pytorch", "--output-dir", out);
        assertThat(again.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(again.err()).contains("output directory exists (use --force to replace it)");
        assertThat(ckpt("convert", CKPT, "--format", "pytorch", "--output-dir", out, "--force", "--quiet").code()).isZero();
    }

    /** --no-fsync (convert and reshard) gives the same files, published under the output name. */
    @Test
    void noFsyncWritesTheSameFiles() throws Exception {
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        assertThat(ckpt("convert", CKPT, "--format", "safetensors", "--output-dir", a, "--quiet").code()).isZero();
        RotationCommandsTest.Run r = ckpt("convert", CKPT, "--format", "safetensors", "--output-dir", b, "--quiet", "--no-fsync");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(Fixtures.treeSha256(b)).isEqualTo(Fixtures.treeSha256(a));

        Path c = tmp.resolve("c"), d = tmp.resolve("d");
        assertThat(ckpt("reshard", CKPT, "--tp", "1", "--output-dir", c, "--quiet").code()).isZero();
        RotationCommandsTest.Run rr = ckpt("reshard", CKPT, "--tp", "1", "--output-dir", d, "--quiet", "--no-fsync");
        assertThat(rr.code()).as(rr.err()).isZero();
        // .metadata names its own output dir; every other file is the same
        java.util.SortedMap<String, String> durable = Fixtures.treeSha256(c), fast = Fixtures.treeSha256(d);
        assertThat(fast.keySet()).isEqualTo(durable.keySet());
        durable.keySet().removeIf(f -> f.endsWith(".metadata"));
        assertThat(fast).containsAllEntriesOf(durable);
    }

    /**
     * A flipped bit in a record that convert copies straight from the source (whose CRC-32 is proven from the copied
     * bytes, not read twice): exit 1, one line naming file, key and record offset, nothing published.
     */
    @Test
    void aDamagedRecordCopiedAsRunsFailsInOneLine() throws Exception {
        Path in = Fixtures.copyTree(Fixtures.path("dcp-fsdp2/checkpoint"), tmp.resolve("in"));
        long recordAt, dataAt;
        String file;
        try (ckpt.convert.index.CheckpointIndex index = ckpt.convert.index.Checkpoints.open(in);
             java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            ckpt.convert.index.PieceSource p = index.tensor("model.embed.weight").orElseThrow().pieces().getFirst().source();
            file = p.file();
            recordAt = p.offset();
            ckpt.format.zip.ZipArchive zip = ckpt.format.zip.ZipArchive.open(in.resolve(file), Fixtures.map(in.resolve(file), recordAt, p.length(), arena));
            ckpt.format.zip.ZipEntryInfo data = zip.entries().stream().filter(e -> e.name().contains("/data/")).findFirst().orElseThrow();
            dataAt = recordAt + data.dataOffset() + data.size() / 2;
        }
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(in.resolve(file).toFile(), "rw")) {
            f.seek(dataAt);
            int b = f.read();
            f.seek(dataAt);
            f.write(b ^ 0x40);
        }
        Path out = tmp.resolve("pt");
        RotationCommandsTest.Run r = ckpt("convert", in, "--format", "pytorch", "--output-dir", out, "--threads", "2");
        assertThat(r.code()).as(r.err()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.err().strip().lines()).as(r.err()).hasSize(1);
        assertThat(r.err()).contains(file, "model.embed.weight", "record at byte " + recordAt, "CRC-32 mismatch")
                .doesNotContain("Exception");
        try (var left = Files.list(tmp)) {
            assertThat(left.map(p -> p.getFileName().toString()).toList()).containsExactly("in");
        }
    }

    @Test
    void usageErrors() {
        assertThat(ckpt("convert", CKPT, "--format", "onnx", "--output-dir", tmp.resolve("x")).code()).isEqualTo(ExitCodes.USAGE);
        assertThat(ckpt("convert", CKPT, "--format", "pytorch", "--output-dir", tmp.resolve("x"), "--dtype", "int8").code()).isEqualTo(ExitCodes.USAGE);
        RotationCommandsTest.Run r = ckpt("convert", CKPT, "--format", "huggingface", "--output-dir", tmp.resolve("y"), "--arch", "gpt2");
        assertThat(r.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.err()).contains("cannot convert to GPT2LMHeadModel");
        assertThat(Files.exists(tmp.resolve("y"))).isFalse();
    }

    /**
     * The 8B sample has metadata but no data files: every format refuses at once in one line naming the checkpoint
     * and what is missing — not a guess about layer counts or activations from the absent args.
     */
    @Test
    void metadataOnlyInputFailsAtOnceInOneLine() {
        for (String format : new String[]{"pytorch", "huggingface", "safetensors"}) {
            Path out = tmp.resolve("meta-" + format);
            long t0 = System.nanoTime();
            RotationCommandsTest.Run r = ckpt("convert", Fixtures.path("megatron-llama3-8b-meta/checkpoint"), "--format", format,
                    "--output-dir", out);
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertThat(r.code()).as(r.err()).isEqualTo(ExitCodes.PROBLEMS);
            assertThat(r.err().strip().lines()).as(r.err()).hasSize(1);
            assertThat(r.err()).contains("megatron-llama3-8b-meta/checkpoint/iter_0000001", "metadata only", ".distcp")
                    .doesNotContain("LayerNorm", "num_layers", "Exception");
            assertThat(out).doesNotExist();
            try (var left = Files.list(tmp)) {
                assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("meta-"));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            // Metadata and file sizes only: a generous ceiling for a loaded CI machine (typically ~0.1 s in-process).
            assertThat(seconds).as("seconds").isLessThan(5);
        }
    }

    @Test
    void truncatedDataFileFailsBeforeAnyOutput() throws Exception {
        Path copy = Fixtures.copyTree(Fixtures.path("dcp-fsdp2/checkpoint"), tmp.resolve("fsdp2"));
        Path shard = copy.resolve("__1_0.distcp");
        try (var ch = java.nio.channels.FileChannel.open(shard, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() / 2);
        }
        Path out = tmp.resolve("trunc");
        RotationCommandsTest.Run r = ckpt("convert", copy, "--format", "pytorch", "--output-dir", out);
        assertThat(r.code()).as(r.err()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.err().strip().lines()).hasSize(1);
        assertThat(r.err()).contains("__1_0.distcp", "truncated");
        assertThat(out).doesNotExist();
    }

    @Test
    void importsHuggingfaceIntoMegatronAndPrintsTheFlags() throws Exception {
        Path hf = tmp.resolve("hf"), mg = tmp.resolve("mg");
        assertThat(ckpt("convert", CKPT, "--format", "huggingface", "--output-dir", hf, "--quiet").code()).isZero();
        RotationCommandsTest.Run r = ckpt("convert", hf, "--format", "megatron", "--tp", "2", "--output-dir", mg);
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("(megatron)").contains("--load " + mg + " --finetune")
                .contains("--num-layers 4 --hidden-size 64").contains("--tensor-model-parallel-size 2").contains("--vocab-size 1000");
        assertThat(mg.resolve("release/__1_0.distcp")).exists();
        RotationCommandsTest.Run j = ckpt("convert", hf, "--format", "megatron", "--output-dir", tmp.resolve("mg1"), "--json");
        assertThat(new ObjectMapper().readTree(j.out()).get("megatron_flags").toString()).contains("--swiglu");
        RotationCommandsTest.Run bad = ckpt("convert", hf, "--format", "megatron", "--tp", "0", "--output-dir", tmp.resolve("z"));
        assertThat(bad.code()).isEqualTo(ExitCodes.USAGE);
        RotationCommandsTest.Run ep = ckpt("convert", hf, "--format", "megatron", "--ep", "2", "--output-dir", tmp.resolve("z"));
        assertThat(ep.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(ep.err()).contains("config.json").contains("--ep 2 needs a mixture-of-experts model");
        assertThat(Files.exists(tmp.resolve("z"))).isFalse();
    }

    @Test
    void engineChoiceIsReportedAndAMissingEngineIsOneLine() throws Exception {
        Path out = tmp.resolve("e");
        RotationCommandsTest.Run r = ckpt("convert", CKPT, "--format", "safetensors", "--output-dir", out, "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("engine").asText()).isEqualTo("java");
        assertThat(j.get("engine_requested").asText()).isEqualTo("auto");
        assertThat(j.get("engine_notes")).isEmpty();
        RotationCommandsTest.Run human = ckpt("convert", CKPT, "--format", "safetensors", "--output-dir", tmp.resolve("h"), "--engine", "java");
        assertThat(human.out()).contains("\nengine: java (Java ");

        for (String engine : new String[]{"nd4j", "cuda"}) {
            RotationCommandsTest.Run missing = ckpt("convert", CKPT, "--format", "safetensors", "--output-dir", tmp.resolve(engine), "--engine", engine);
            assertThat(missing.code()).isEqualTo(ExitCodes.PROBLEMS);
            assertThat(missing.err().strip()).doesNotContain("\n").startsWith("ckpt: engine '" + engine + "' is not installed")
                    .contains("CKPT_ENGINE_PATH").contains("docs/ENGINES.md");
            assertThat(Files.exists(tmp.resolve(engine))).isFalse();
        }
        RotationCommandsTest.Run unknown = ckpt("convert", CKPT, "--format", "safetensors", "--output-dir", tmp.resolve("u"), "--engine", "numpy");
        assertThat(unknown.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(unknown.err()).contains("unknown engine 'numpy'");
    }
}
