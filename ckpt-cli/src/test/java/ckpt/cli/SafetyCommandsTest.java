package ckpt.cli;

import ckpt.format.safetensors.SafetensorsWriter;
import ckpt.format.tensor.DType;
import ckpt.format.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static ckpt.cli.RotationCommandsTest.ckpt;
import static org.assertj.core.api.Assertions.assertThat;

/** Issue #12 end to end: exit codes, one-line errors naming the file, escaped terminal output, verify --all, list of staging dirs. */
class SafetyCommandsTest {
    @TempDir
    Path tmp;

    private static void assertOneLineError(RotationCommandsTest.Run r, String file) {
        assertThat(r.code()).as(r.err()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.err().lines().toList()).as(r.err()).hasSize(1);
        assertThat(r.err()).startsWith("ckpt: ").contains(file)
                .doesNotContain("Exception").doesNotContain("\tat ").doesNotContain("PyDict").doesNotContain("ArrayList");
    }

    @Test
    void convertForceOntoItsOwnInputIsRefusedAndTheInputKept() throws Exception {
        Path save = Fixtures.copyTree(Fixtures.path("megatron-llama-tp2/checkpoint"), tmp.resolve("save"));
        long files;
        try (var s = Files.walk(save)) {
            files = s.count();
        }
        for (String out : List.of(save.toString(), save.resolve("iter_0000004").toString(), tmp.toString())) {
            var r = ckpt("convert", save, "--format", "huggingface", "--output-dir", out, "--force");
            assertOneLineError(r, out);
            assertThat(r.err()).contains("input checkpoint");
        }
        try (var s = Files.walk(save)) {
            assertThat(s.count()).isEqualTo(files);
        }
        assertThat(save.resolve("iter_0000004/.metadata")).exists();
    }

    @Test
    void aNulInADataFileNameIsAFormatErrorNotAUsageError() throws Exception {
        Path dir = Fixtures.copyTree(Fixtures.path("dcp-fsdp2/checkpoint"), tmp.resolve("dcp"));
        Path md = dir.resolve(".metadata");
        byte[] b = Files.readAllBytes(md);
        byte[] name = "__0_0.distcp".getBytes();
        int at = indexOf(b, name);
        b[at] = 0;
        Files.write(md, b);
        for (String cmd : List.of("inspect", "convert")) {
            var r = cmd.equals("inspect") ? ckpt("inspect", dir) : ckpt("convert", dir, "--format", "pytorch", "--output-dir", tmp.resolve("o"));
            assertOneLineError(r, md.toString());
            assertThat(r.err()).contains("NUL");
        }
    }

    @Test
    void aTrackerThatIsNotUtf8NamesTheTracker() throws Exception {
        Path save = Fixtures.copyTree(Fixtures.path("megatron-llama-tp2/checkpoint"), tmp.resolve("save"));
        Path tracker = save.resolve("latest_checkpointed_iteration.txt");
        Files.write(tracker, new byte[]{(byte) 0xFF});
        var r = ckpt("inspect", save);
        assertOneLineError(r, tracker.toString());
        assertThat(r.err()).contains("not UTF-8").doesNotContain("MalformedInput").doesNotContain("Input length");
        var v = ckpt("verify", save);
        assertThat(v.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(v.out()).contains(tracker.toString()).contains("not UTF-8");
    }

    @Test
    void controlCharactersFromAFileNeverReachTheTerminalRaw() throws Exception {
        String evil = "model.\u001b]0;pwned\u0007\u001b[2J.weight";
        Path st = tmp.resolve("evil.safetensors");
        SafetensorsWriter w = new SafetensorsWriter();
        w.add(evil, DType.FLOAT32, new long[]{2});
        w.write(st, n -> MemorySegment.ofArray(new float[]{1f, 2f}));
        for (String[] args : List.of(new String[]{"inspect", "--tensors", st.toString()}, new String[]{"verify", "--deep", st.toString()})) {
            var r = ckpt((Object[]) args);
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out() + r.err()).doesNotContain("\u001b").doesNotContain("\u0007");
        }
        assertThat(ckpt("inspect", "--tensors", st).out()).contains("\\u001b]0;pwned\\u0007");

        Path badName = Files.writeString(tmp.resolve("x\u001b[2J.pt"), "not a checkpoint");
        var r = ckpt("inspect", badName);
        assertOneLineError(r, "x\\u001b[2J.pt");
        assertThat(r.err()).doesNotContain("\u001b");
    }

    @Test
    void verifySaysWhichIterationItCheckedAndAllChecksEach() throws Exception {
        Path save = Fixtures.copyTree(Fixtures.path("megatron-llama-tp2/checkpoint"), tmp.resolve("save"));
        Path older = save.resolve("iter_0000002/__0_0.distcp");
        try (var f = new java.io.RandomAccessFile(older.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        var one = ckpt("verify", save);
        assertThat(one.code()).isZero();
        assertThat(one.out()).contains("checked iter_0000004, the iteration the tracker names")
                .contains("not checked: iter_0000002").contains("--all");

        var all = ckpt("verify", "--all", save);
        assertThat(all.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(all.out()).contains("iteration 4").contains("iteration 2").contains(older.toString())
                .contains("truncated").contains("1 of 2 checkpoints sound");
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(ckpt("verify", "--all", "--json", save).out());
        assertThat(json.isArray()).isTrue();
        assertThat(json).hasSize(2);
    }

    @Test
    void listShowsStagingDirsLeftByKilledConverts() throws Exception {
        Path save = Fixtures.copyTree(Fixtures.path("megatron-llama-tp2/checkpoint"), tmp.resolve("save"));
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        Path left = Files.createDirectories(save.resolve("hf.tmp-0123456789ab"));
        Files.writeString(left.resolve(ckpt.convert.exec.StagingOwner.FILE), p.pid() + "\n2026-01-01T00:00:00Z\n"
                + Files.readString(Path.of("/proc/sys/kernel/hostname")).trim() + "\n");
        var r = ckpt("list", save);
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("hf.tmp-0123456789ab").contains("STALE").contains("pid " + p.pid());
    }

    /**
     * Item 5: a dimension of 2^62 or a chunk size near 2^63 in a real {@code .metadata} (the first tensor,
     * model.gate of shape (1,), re-encoded as LONG1) is a format error naming the file and the key, exit 1 — not
     * an ArithmeticException (exit 3) — for inspect, verify and convert.
     */
    @Test
    void sizesThatOverflow64BitsAreAFormatErrorNamingFileAndKey() throws Exception {
        byte[] md = Files.readAllBytes(Fixtures.path("dcp-fsdp2/checkpoint/.metadata"));
        // torch.Size((1,)) of model.gate's properties: 'size', STACK_GLOBAL torch.Size, then BININT1 1
        int sizeDim = indexOf(md, new byte[]{'S', 'i', 'z', 'e', (byte) 0x94, (byte) 0x93, (byte) 0x94, 'K', 1}) + 7;
        // its one chunk's sizes: 'sizes', BINGET of torch.Size, BININT1 1
        int chunkDim = indexOf(md, new byte[]{'s', 'i', 'z', 'e', 's', (byte) 0x94, 'h', 33, 'K', 1}) + 8;
        for (Object[] c : List.of(new Object[]{sizeDim, 1L << 62}, new Object[]{chunkDim, Long.MAX_VALUE - 7})) {
            int at = (int) c[0];
            Path dir = Fixtures.copyTree(Fixtures.path("dcp-fsdp2/checkpoint"), tmp.resolve("dcp-" + at));
            byte[] b = new byte[md.length + 8];
            System.arraycopy(md, 0, b, 0, at);
            java.nio.ByteBuffer.wrap(b, at, 10).order(java.nio.ByteOrder.LITTLE_ENDIAN).put((byte) 0x8a).put((byte) 8).putLong((long) c[1]);
            System.arraycopy(md, at + 2, b, at + 10, md.length - at - 2);
            Files.write(dir.resolve(".metadata"), b);
            for (String cmd : List.of("inspect", "convert")) {
                var r = cmd.equals("inspect") ? ckpt("inspect", dir) : ckpt("convert", dir, "--format", "pytorch", "--output-dir", tmp.resolve("o"));
                assertOneLineError(r, dir.resolve(".metadata").toString());
                assertThat(r.err()).contains("key model.gate").doesNotContain("overflow:").doesNotContain("internal error");
            }
            var v = ckpt("verify", dir);
            assertThat(v.code()).isEqualTo(ExitCodes.PROBLEMS);
            assertThat(v.out()).contains(dir.resolve(".metadata").toString()).contains("model.gate");
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found");
    }
}
