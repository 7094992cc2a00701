package ckpt.convert.analysis;

import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * verify on the intact fixtures (sound) and on damaged copies of them, each damage made in a temp dir and located
 * from PyTorch's own record table (reference dcp_metadata.json), so the expected problem is known independently.
 */
class VerifierTest {
    private static final String SAVE_DIR = "megatron-llama-tp2/checkpoint";
    private static final String REF = "megatron-llama-tp2/reference/iter_0000004/dcp_metadata.json";

    @TempDir
    Path tmp;

    /** One storage record as PyTorch listed it. */
    record Rec(String fqn, String file, long offset, long length) {
    }

    static List<Rec> records() {
        List<Rec> out = new ArrayList<>();
        for (JsonNode r : Fixtures.json(Fixtures.path(REF)).get("storage_data"))
            out.add(new Rec(r.get("fqn").asText(), r.get("storage_relative_path").asText(),
                    r.get("storage_offset").asLong(), r.get("storage_length").asLong()));
        return out;
    }

    private Path copy() throws Exception {
        return Fixtures.copyTree(Fixtures.path(SAVE_DIR), tmp.resolve("save"));
    }

    private static VerifyReport fast(Path p) {
        return new Verifier(false, VerifyProgress.NONE).verify(p);
    }

    private static VerifyReport deep(Path p) {
        return new Verifier(true, VerifyProgress.NONE).verify(p);
    }

    @ParameterizedTest
    @ValueSource(strings = {"megatron-llama-tp2/checkpoint", "megatron-llama-tp2/checkpoint/iter_0000002",
            "megatron-llama-tp2-core014/checkpoint", "megatron-qwen3-tp2/checkpoint", "dcp-fsdp2/checkpoint",
            "dcp-variety/checkpoint", "dcp-variety-safetensors/checkpoint"})
    void intactFixturesAreSound(String fixture) {
        VerifyReport f = fast(Fixtures.path(fixture));
        assertThat(f.problems()).isEmpty();
        assertThat(f.sound()).isTrue();
        VerifyReport d = deep(Fixtures.path(fixture));
        assertThat(d.problems()).isEmpty();
        assertThat(d.checks().chunksDecoded()).isPositive();
        if (!fixture.contains("safetensors")) {
            assertThat(d.checks().crcEntries()).isPositive();
            assertThat(d.checks().zipRecords()).isGreaterThanOrEqualTo(d.checks().records());
        }
    }

    @Test
    void checksCountWhatTheMetadataHolds() {
        VerifyReport r = deep(Fixtures.path(SAVE_DIR));
        List<Rec> refs = records();
        assertThat(r.checks().records()).isEqualTo(refs.size());
        assertThat(r.checks().zipRecords()).isEqualTo(refs.size());
        assertThat(r.checks().dataFiles()).isEqualTo(2);
        assertThat(r.checkpoint()).endsWith("iter_0000004");
        assertThat(r.iteration()).isEqualTo(4L);
        long fileBytes = Fixtures.path(SAVE_DIR, "iter_0000004", "__0_0.distcp").toFile().length()
                + Fixtures.path(SAVE_DIR, "iter_0000004", "__1_0.distcp").toFile().length();
        assertThat(r.checks().bytesRead()).isEqualTo(fileBytes);   // records tile the files: every byte read once
    }

    @Test
    void truncatedShardNamesTheFirstRecordPastTheEnd() throws Exception {
        Path sd = copy();
        Path shard = sd.resolve("iter_0000004/__1_0.distcp");
        long newSize = Files.size(shard) / 2;
        truncate(shard, newSize);
        Rec first = records().stream().filter(r -> r.file().equals("__1_0.distcp") && r.offset() + r.length() > newSize)
                .min(Comparator.comparingLong(Rec::offset)).orElseThrow();
        VerifyReport r = fast(sd);
        assertThat(r.sound()).isFalse();
        assertThat(r.problems()).hasSize(1);
        Problem p = r.problems().getFirst();
        assertThat(p.file()).isEqualTo(shard.toString());
        assertThat(p.key()).isEqualTo(first.fqn());
        assertThat(p.what()).startsWith("truncated: the file has " + newSize + " bytes").contains("the first at byte " + first.offset());
    }

    /** __0_0 also holds the common state Megatron's reader needs: the failed open is not reported twice. */
    @Test
    void truncatedFirstShardIsOneProblem() throws Exception {
        Path sd = copy();
        Path shard = sd.resolve("iter_0000004/__0_0.distcp");
        truncate(shard, 1000);
        VerifyReport r = fast(sd);
        assertThat(r.problems()).hasSize(1);
        assertThat(r.problems().getFirst().file()).isEqualTo(shard.toString());
        assertThat(r.problems().getFirst().what()).startsWith("truncated");
    }

    @Test
    void recordPointingPastTheEndByOneByte() throws Exception {
        Path sd = copy();
        Path shard = sd.resolve("iter_0000004/__1_0.distcp");
        long size = Files.size(shard);
        truncate(shard, size - 1);
        Rec last = records().stream().filter(r -> r.file().equals("__1_0.distcp"))
                .max(Comparator.comparingLong(Rec::offset)).orElseThrow();
        VerifyReport r = fast(sd);
        assertThat(r.problems()).extracting(Problem::key).containsExactly(last.fqn());
        assertThat(r.problems().getFirst().what()).contains("1 record lies past the end");
    }

    @Test
    void fileChecksFlagARecordBeyondTheFile() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("d"));
        Files.write(dir.resolve("a.bin"), new byte[100]);
        List<Problem> p = FileChecks.check(dir, List.of(new RecordRef("a.bin", "ok", 0, 100),
                new RecordRef("a.bin", "beyond", 90, 20), new RecordRef("b.bin", "gone", 0, 1)));
        assertThat(p).hasSize(2);
        assertThat(p).anySatisfy(x -> {
            assertThat(x.key()).isEqualTo("beyond");
            assertThat(x.what()).contains("100 bytes").contains("up to byte 110");
        });
        assertThat(p).anySatisfy(x -> {
            assertThat(x.file()).endsWith("b.bin");
            assertThat(x.what()).startsWith("missing data file");
        });
        assertThat(FileChecks.check(dir, List.of(new RecordRef("a.bin", "neg", -1, 5))).getFirst().what()).contains("impossible");
    }

    @Test
    void missingShard() throws Exception {
        Path sd = copy();
        Path shard = sd.resolve("iter_0000004/__1_0.distcp");
        Files.delete(shard);
        long inIt = records().stream().filter(r -> r.file().equals("__1_0.distcp")).count();
        VerifyReport r = fast(sd);
        assertThat(r.problems()).hasSize(1);
        assertThat(r.problems().getFirst().file()).isEqualTo(shard.toString());
        assertThat(r.problems().getFirst().what()).isEqualTo("missing data file: the metadata places " + inIt + " records in it");
    }

    @Test
    void missingMetadataIsAnIncompleteSave() throws Exception {
        Path sd = copy();
        Files.delete(sd.resolve("iter_0000004/.metadata"));
        VerifyReport r = fast(sd);
        assertThat(r.problems()).hasSize(1);
        assertThat(r.problems().getFirst().file()).isEqualTo(sd.resolve("iter_0000004/.metadata").toString());
        assertThat(r.problems().getFirst().what())
                .isEqualTo("incomplete save: .metadata missing — the job was probably interrupted while saving");
    }

    @Test
    void missingMetadataJsonIsAnIncompleteMegatronSave() throws Exception {
        Path sd = copy();
        Files.delete(sd.resolve("iter_0000004/metadata.json"));
        VerifyReport r = fast(sd);
        assertThat(r.problems()).extracting(Problem::file).containsExactly(sd.resolve("iter_0000004/metadata.json").toString());
        assertThat(r.problems().getFirst().what()).startsWith("incomplete save: metadata.json missing");
    }

    @Test
    void trackerNamingAMissingIteration() throws Exception {
        Path sd = copy();
        Files.writeString(sd.resolve("latest_checkpointed_iteration.txt"), "7");
        VerifyReport r = fast(sd);
        assertThat(r.problems()).hasSize(1);
        assertThat(r.problems().getFirst().file()).isEqualTo(sd.resolve("latest_checkpointed_iteration.txt").toString());
        assertThat(r.problems().getFirst().what()).isEqualTo("tracker names iteration 7 but iter_0000007/ does not exist");
        assertThat(r.checkpoint()).endsWith("iter_0000004");   // the newest iteration is still checked
    }

    @Test
    void flippedTensorByteIsFoundOnlyByDeep() throws Exception {
        Path sd = copy();
        Rec big = records().stream().max(Comparator.comparingLong(Rec::length)).orElseThrow();
        // Every tensor item is a torch.save zip with its tensor bytes from byte 704 to 873 bytes before its end
        // (megatron-llama3-8b-meta/README.md): flip one byte in the middle of the tensor data.
        long at = big.offset() + 704 + (big.length() - 704 - 873) / 2;
        flip(sd.resolve("iter_0000004").resolve(big.file()), at);
        assertThat(fast(sd).problems()).isEmpty();
        VerifyReport r = deep(sd);
        assertThat(r.problems()).hasSize(1);
        Problem p = r.problems().getFirst();
        assertThat(p.file()).isEqualTo(sd.resolve("iter_0000004").resolve(big.file()).toString());
        assertThat(p.key()).isEqualTo(big.fqn());
        assertThat(p.what()).startsWith("CRC-32 mismatch in ").contains("/data/0 of the record at byte " + big.offset());
    }

    @Test
    void brokenZipEndRecordIsFoundByFastChecks() throws Exception {
        Path sd = copy();
        Rec rec = records().stream().filter(r -> r.file().equals("__1_0.distcp")).findFirst().orElseThrow();
        // The classic end-of-central-directory record is a zip's last 22 bytes; break its signature.
        flip(sd.resolve("iter_0000004/__1_0.distcp"), rec.offset() + rec.length() - 22);
        VerifyReport r = fast(sd);
        assertThat(r.problems()).hasSize(1);
        assertThat(r.problems().getFirst().key()).isEqualTo(rec.fqn());
        assertThat(r.problems().getFirst().what()).startsWith("record at byte " + rec.offset() + " is not a sound torch.save zip");
    }

    @Test
    void integrityJsonIsCheckedByDeep() throws Exception {
        Path sd = copy();
        Path iter = sd.resolve("iter_0000004");
        String good = Fixtures.sha256(iter.resolve("__0_0.distcp"));
        Files.writeString(iter.resolve("integrity.json"), "{\"algorithm\": \"sha256\", \"files\": {\"__0_0.distcp\": \""
                + good + "\", \"__1_0.distcp\": \"" + Fixtures.sha256(iter.resolve("__1_0.distcp")) + "\"}}");
        VerifyReport ok = deep(sd);
        assertThat(ok.problems()).isEmpty();
        assertThat(ok.checks().filesHashed()).isEqualTo(2);

        Files.writeString(iter.resolve("integrity.json"), "{\"algorithm\": \"sha256\", \"files\": {\"__0_0.distcp\": \""
                + "0".repeat(64) + "\"}}");
        VerifyReport bad = deep(sd);
        assertThat(bad.problems()).hasSize(1);
        assertThat(bad.problems().getFirst().file()).isEqualTo(iter.resolve("__0_0.distcp").toString());
        assertThat(bad.problems().getFirst().what()).isEqualTo("SHA-256 mismatch: integrity.json says " + "0".repeat(64)
                + ", the file gives " + good);
    }

    @Test
    void metadataOnlyCopyReportsItsAbsentDataFiles() {
        VerifyReport r = fast(Fixtures.path("megatron-llama3-8b-meta/checkpoint"));
        assertThat(r.problems()).extracting(Problem::what)
                .containsExactly("missing data file: the metadata places 542 records in it",
                        "missing data file: the metadata places 408 records in it");
    }

    @Test
    void noSuchPath() {
        VerifyReport r = fast(tmp.resolve("nope"));
        assertThat(r.problems()).extracting(Problem::what).containsExactly("no such file or directory");
    }

    static void truncate(Path file, long size) throws Exception {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    static void flip(Path file, long at) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x5a);
        }
    }

    /**
     * Legacy Megatron ({@code mp_rank_*}/{@code model_optim_rng.pt} + {@code distrib_optim.pt}): fast verify parses
     * both zips of every rank, and a storage entry whose central-directory size was cut (here halved, the data left in
     * place) is found without reading data, naming the file — for {@code distrib_optim.pt} as for
     * {@code model_optim_rng.pt}. The entry is located with java.util.zip, independently of ckpt's zip reader.
     */
    @ParameterizedTest
    @ValueSource(strings = {"distrib_optim.pt", "model_optim_rng.pt"})
    void legacyZipWithACutStorageEntry_isFoundByFastVerify(String name) throws Exception {
        Path save = Fixtures.copyTree(Fixtures.path("megatron-llama-tp2-legacy-torch/checkpoint"), tmp.resolve("legacy"));
        VerifyReport intact = fast(save);
        assertThat(intact.problems()).isEmpty();
        assertThat(intact.checks().zipRecords()).as("two zips per rank, two ranks").isEqualTo(4);

        Path file = save.resolve("iter_0000004/mp_rank_01/" + name);
        String entry;
        long size;
        try (java.util.zip.ZipFile z = new java.util.zip.ZipFile(file.toFile())) {
            java.util.zip.ZipEntry e = z.stream().filter(x -> x.getName().contains("/data/") && x.getSize() >= 16)
                    .max(Comparator.comparingLong(java.util.zip.ZipEntry::getSize)).orElseThrow();
            entry = e.getName();
            size = e.getSize();
        }
        byte[] b = Files.readAllBytes(file);
        byte[] n = entry.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int at = -1;
        for (int i = 0; i + 46 + n.length <= b.length && at < 0; i++)
            if (b[i] == 'P' && b[i + 1] == 'K' && b[i + 2] == 1 && b[i + 3] == 2
                    && java.util.Arrays.equals(b, i + 46, i + 46 + n.length, n, 0, n.length)) at = i;
        assertThat(at).as("central directory header of " + entry).isNotNegative();
        java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(at + 20, (int) (size / 2)).putInt(at + 24, (int) (size / 2));
        Files.write(file, b);

        VerifyReport r = fast(save);
        assertThat(r.sound()).isFalse();
        assertThat(r.problems()).anySatisfy(p -> {
            assertThat(p.file()).isEqualTo(file.toString());
            assertThat(p.what()).contains(entry).contains("holds " + size / 2 + " bytes").contains("needs " + size);
        });
    }
}
