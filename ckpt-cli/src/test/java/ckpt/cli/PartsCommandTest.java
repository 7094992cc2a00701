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

/** The CLI surface of {@code convert --part/--finish} and {@code verify --deep --part}: output, exit codes, one-line errors. */
class PartsCommandTest {
    static final Path CKPT = Fixtures.path("megatron-llama-tp2/checkpoint");

    @TempDir
    Path tmp;

    @Test
    void partsThenFinish_publishTheSameBytesAsOneProcess() throws Exception {
        Path single = tmp.resolve("single"), out = tmp.resolve("parted");
        assertThat(ckpt("convert", CKPT, "--format", "pytorch", "--output-dir", single, "--quiet").code()).isZero();
        RotationCommandsTest.Run p1 = ckpt("convert", CKPT, "--format", "pytorch", "--output-dir", out, "--part", "1/2", "--json");
        assertThat(p1.code()).as(p1.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(p1.out());
        assertThat(j.get("part").asInt()).isEqualTo(1);
        assertThat(j.get("parts").asInt()).isEqualTo(2);
        assertThat(j.get("output_dir").asText()).endsWith("parted.parts");

        RotationCommandsTest.Run early = ckpt("convert", CKPT, "--format", "pytorch", "--output-dir", out, "--finish");
        assertThat(early.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(early.err().strip()).doesNotContain("\n").contains("part 2/2 has not completed");
        assertThat(out).doesNotExist();

        RotationCommandsTest.Run p2 = ckpt("convert", CKPT, "--format", "pytorch", "--output-dir", out, "--part", "2/2");
        assertThat(p2.code()).as(p2.err()).isZero();
        assertThat(p2.out()).startsWith("part 2/2 of megatron_torch_dist").contains("run --finish");
        RotationCommandsTest.Run fin = ckpt("convert", CKPT, "--format", "pytorch", "--output-dir", out, "--finish");
        assertThat(fin.code()).as(fin.err()).isZero();
        assertThat(Files.readAllBytes(out.resolve("model.pt"))).isEqualTo(Files.readAllBytes(single.resolve("model.pt")));
        assertThat(tmp.resolve("parted.parts")).doesNotExist();
    }

    @Test
    void damagedPartFile_failsTheFinish_inOneLineNamingPartAndFile() throws Exception {
        Path hf = tmp.resolve("hf"), out = tmp.resolve("mcore");
        assertThat(ckpt("convert", CKPT, "--format", "huggingface", "--output-dir", hf, "--quiet").code()).isZero();
        for (int i = 1; i <= 2; i++)
            assertThat(ckpt("convert", hf, "--format", "megatron", "--tp", "2", "--output-dir", out, "--part", i + "/2", "--quiet").code()).isZero();
        Path rank1 = tmp.resolve("mcore.parts/out/release/__1_0.distcp");
        byte[] b = Files.readAllBytes(rank1);
        b[b.length / 2] ^= 1;
        Files.write(rank1, b);
        RotationCommandsTest.Run fin = ckpt("convert", hf, "--format", "megatron", "--tp", "2", "--output-dir", out, "--finish");
        assertThat(fin.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(fin.err().strip()).doesNotContain("\n").contains(rank1.toString()).contains("is damaged").contains("--part 2/2");
        assertThat(out).doesNotExist();
    }

    @Test
    void usageErrors_exit2() {
        Path out = tmp.resolve("o");
        assertThat(ckpt("convert", CKPT, "--format", "pytorch", "--output-dir", out, "--part", "3").code()).isEqualTo(ExitCodes.USAGE);
        assertThat(ckpt("convert", CKPT, "--format", "pytorch", "--output-dir", out, "--part", "0/2").code()).isEqualTo(ExitCodes.USAGE);
        assertThat(ckpt("convert", CKPT, "--format", "pytorch", "--output-dir", out, "--part", "1/2", "--finish").code()).isEqualTo(ExitCodes.USAGE);
        assertThat(ckpt("verify", CKPT, "--part", "1/2").code()).isEqualTo(ExitCodes.USAGE);
        assertThat(out).doesNotExist();
        assertThat(tmp.resolve("o.parts")).doesNotExist();
    }

    @Test
    void verifyDeepInParts() {
        for (int i = 1; i <= 3; i++) {
            RotationCommandsTest.Run r = ckpt("verify", CKPT, "--deep", "--part", i + "/3");
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out()).startsWith("part " + i + "/3 of the deep checks").contains("sound");
        }
    }

    @Test
    void reshardPartsThenFinish_publishTheSameBytesAsOneProcess() throws Exception {
        Path out = tmp.resolve("resharded");
        assertThat(ckpt("reshard", CKPT, "--tp", "1", "--output-dir", out, "--quiet").code()).isZero();
        var single = Fixtures.treeSha256(out);
        Fixtures.deleteTree(out);

        RotationCommandsTest.Run p1 = ckpt("reshard", CKPT, "--tp", "1", "--output-dir", out, "--part", "1/2", "--json");
        assertThat(p1.code()).as(p1.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(p1.out());
        assertThat(j.get("part").asInt()).isEqualTo(1);
        assertThat(j.get("parts").asInt()).isEqualTo(2);
        assertThat(j.get("output_dir").asText()).endsWith("resharded.parts");

        RotationCommandsTest.Run early = ckpt("reshard", CKPT, "--tp", "1", "--output-dir", out, "--finish");
        assertThat(early.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(early.err().strip()).doesNotContain("\n").contains("part 2/2 has not completed");
        assertThat(out).doesNotExist();

        RotationCommandsTest.Run wrongCount = ckpt("reshard", CKPT, "--tp", "1", "--output-dir", out, "--part", "2/3");
        assertThat(wrongCount.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(wrongCount.err().strip()).doesNotContain("\n").contains("in 2 parts, this task asks for 3");

        RotationCommandsTest.Run p2 = ckpt("reshard", CKPT, "--tp", "1", "--output-dir", out, "--part", "2/2");
        assertThat(p2.code()).as(p2.err()).isZero();
        assertThat(p2.out()).startsWith("part 2/2 of reshard iter_0000004 TP 2 × PP 1 → TP 1 × PP 1").contains("run --finish");
        RotationCommandsTest.Run fin = ckpt("reshard", CKPT, "--tp", "1", "--output-dir", out, "--finish", "--json");
        assertThat(fin.code()).as(fin.err()).isZero();
        assertThat(new ObjectMapper().readTree(fin.out()).get("finished_parts").asBoolean()).isTrue();
        assertThat(Fixtures.treeSha256(out)).isEqualTo(single);
        assertThat(tmp.resolve("resharded.parts")).doesNotExist();

        assertThat(ckpt("reshard", CKPT, "--output-dir", tmp.resolve("u"), "--part", "3").code()).isEqualTo(ExitCodes.USAGE);
        assertThat(ckpt("reshard", CKPT, "--output-dir", tmp.resolve("u"), "--part", "1/2", "--finish").code()).isEqualTo(ExitCodes.USAGE);
        assertThat(tmp.resolve("u.parts")).doesNotExist();
    }

    /**
     * Two {@code --finish} runs on one staging dir: while another process holds the finish lock (a child JVM here,
     * as a second Slurm job would), the second exits 1 with one line and changes nothing; afterwards it finishes.
     */
    @Test
    void concurrentFinish_theLoserExits1_forConvertAndReshard() throws Exception {
        Path holder = tmp.resolve("HoldLock.java");
        Files.writeString(holder, """
                import java.nio.channels.FileChannel;
                import java.nio.file.Path;
                import java.nio.file.StandardOpenOption;
                public class HoldLock {
                    public static void main(String[] a) throws Exception {
                        try (FileChannel ch = FileChannel.open(Path.of(a[0]), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                             var lock = ch.lock()) {
                            System.out.println("locked");
                            System.out.flush();
                            System.in.read(); // until the test closes our stdin
                        }
                    }
                }
                """);
        String javaBin = ProcessHandle.current().info().command().orElse("java");
        for (String cmd : new String[]{"convert", "reshard"}) {
            Path out = tmp.resolve("fin-" + cmd);
            Object[] base = cmd.equals("convert") ? new Object[]{"convert", CKPT, "--format", "pytorch", "--output-dir", out}
                    : new Object[]{"reshard", CKPT, "--tp", "1", "--output-dir", out};
            for (int i = 1; i <= 2; i++)
                assertThat(ckpt(concat(base, "--part", i + "/2", "--quiet")).code()).as(cmd).isZero();
            Path staging = tmp.resolve("fin-" + cmd + ".parts");
            Process p = new ProcessBuilder(javaBin, holder.toString(), staging.resolve("finish.lock").toString())
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            try {
                assertThat(new String(p.getInputStream().readNBytes(6))).isEqualTo("locked");
                RotationCommandsTest.Run loser = ckpt(concat(base, "--finish"));
                assertThat(loser.code()).as(cmd).isEqualTo(ExitCodes.PROBLEMS);
                assertThat(loser.err().strip()).doesNotContain("\n").contains(staging.toString())
                        .contains("another --finish is running on this staging dir");
                assertThat(out).doesNotExist();
            } finally {
                p.getOutputStream().close();
                assertThat(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            }
            RotationCommandsTest.Run fin = ckpt(concat(base, "--finish", "--quiet"));
            assertThat(fin.code()).as(fin.err()).isZero();
            assertThat(out).isDirectory();
            assertThat(staging).doesNotExist();
        }
    }

    private static Object[] concat(Object[] a, Object... b) {
        Object[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
