package ckpt.cli;

import ckpt.format.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;

import static ckpt.cli.RotationCommandsTest.ckpt;
import static ckpt.format.testing.Fixtures.copyTree;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What verify and diff print for damaged copies of real fixtures: verify lists the damage as a problem on stdout
 * (text and JSON) naming the file, in user terms (a pickle opcode only as a detail); diff fails in one stderr line.
 */
class VerifyDiffDamageTest {
    @TempDir
    Path tmp;

    /** A message that leads with a pickle opcode ("FRAME (0x95): …") instead of saying what is wrong. */
    private static final String OPCODE_HEADLINE = "(?s).*(^|: )[A-Z][A-Z0-9_]+ \\(0x[0-9a-f]{2}\\).*";

    private Path dcpWithMetadataCut() throws Exception {
        Path dir = copyTree(Fixtures.path("dcp-variety/checkpoint"), tmp.resolve("dcp"));
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve(".metadata").toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        return dir;
    }

    @Test
    void truncatedMetadataIsOneProblemLineNamingTheFileInUserTerms() throws Exception {
        Path dir = dcpWithMetadataCut();
        Path metadata = dir.resolve(".metadata");
        for (String mode : new String[]{"--fast", "--deep"}) {
            RotationCommandsTest.Run r = mode.equals("--deep") ? ckpt("verify", "--deep", dir) : ckpt("verify", dir);
            assertThat(r.code()).as(r.err()).isEqualTo(ExitCodes.PROBLEMS);
            assertThat(r.err()).isEmpty();
            String line = r.out().lines().filter(l -> l.startsWith("  " + metadata)).findFirst().orElseThrow();
            assertThat(line).startsWith("  " + metadata + ": unreadable .metadata (an incomplete save?): truncated pickle: a frame of ")
                    .contains("(pickle opcode FRAME)").endsWith("(at byte 2)").doesNotMatch(OPCODE_HEADLINE);
            assertThat(r.out()).contains("1 problem:");
        }
        RotationCommandsTest.Run j = ckpt("verify", "--json", dir);
        assertThat(j.code()).isEqualTo(ExitCodes.PROBLEMS);
        JsonNode p = new ObjectMapper().readTree(j.out()).get("problems");
        assertThat(p).hasSize(1);
        assertThat(p.get(0).get("file").asText()).isEqualTo(metadata.toString());
        assertThat(p.get(0).get("what").asText()).startsWith("unreadable .metadata (an incomplete save?): truncated pickle: ")
                .doesNotMatch(OPCODE_HEADLINE);
    }

    @Test
    void diffOfATruncatedMetadataIsOneStderrLineAndNoStdout() throws Exception {
        Path dir = dcpWithMetadataCut();
        for (Object[] args : new Object[][]{{"diff", Fixtures.path("dcp-variety/checkpoint"), dir}, {"diff", "--json", dir, dir}}) {
            RotationCommandsTest.Run r = ckpt(args);
            assertThat(r.code()).isEqualTo(ExitCodes.PROBLEMS);
            assertThat(r.out()).isEmpty();
            assertThat(r.err().lines().toList()).singleElement().asString()
                    .startsWith("ckpt: " + dir.resolve(".metadata") + ": unreadable .metadata (an incomplete save?): truncated pickle: ")
                    .doesNotMatch(OPCODE_HEADLINE);
        }
    }

    @Test
    void truncatedLegacyTorchSaveNamesTheFileAndTheTruncation() throws Exception {
        byte[] all = Files.readAllBytes(Fixtures.path("torch-save/files/legacy_nonzip.pt"));
        Path pt = tmp.resolve("legacy.pt");
        Files.write(pt, Arrays.copyOf(all, all.length / 3));
        RotationCommandsTest.Run v = ckpt("verify", pt);
        assertThat(v.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(v.out()).containsPattern("(?m)^  " + java.util.regex.Pattern.quote(pt.toString())
                + ": truncated (or corrupt )?pickle: .*\\(pickle opcode [A-Z0-9_]+\\) \\(at byte \\d+\\)$");
        assertThat(v.out()).doesNotMatch(OPCODE_HEADLINE);
        RotationCommandsTest.Run i = ckpt("inspect", pt);
        assertThat(i.code()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(i.err()).startsWith("ckpt: " + pt + ": truncated").doesNotMatch(OPCODE_HEADLINE);
    }

    /** A copy of a real safetensors file with its first tensor renamed to {@code prefix + name}. */
    private Path renamed(Path original, String prefix) throws Exception {
        Path out = tmp.resolve("renamed-" + prefix.length() + ".safetensors");
        byte[] b = Files.readAllBytes(original);
        int n = (int) ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        ObjectMapper om = new ObjectMapper();
        ObjectNode header = (ObjectNode) om.readTree(new String(b, 8, n, StandardCharsets.UTF_8));
        ObjectNode h = om.createObjectNode();
        boolean done = false;
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            boolean rename = !done && !e.getKey().equals("__metadata__");
            h.set(rename ? prefix + e.getKey() : e.getKey(), e.getValue());
            done |= rename;
        }
        byte[] hb = om.writeValueAsBytes(h);
        ByteBuffer nb = ByteBuffer.allocate(8 + hb.length + b.length - 8 - n).order(ByteOrder.LITTLE_ENDIAN);
        nb.putLong(hb.length).put(hb).put(b, 8 + n, b.length - 8 - n);
        Files.write(out, nb.array());
        return out;
    }

    private static final Path ST = Fixtures.path("dcp-variety-hf/checkpoint/model-00001-of-00001.safetensors");

    /** A tensor name is checkpoint text: diff's table must not pass an escape sequence in it to the terminal. */
    @Test
    void diffEscapesControlCharactersInTensorNames() throws Exception {
        Path b = renamed(ST, "\u001b]0;owned\u0007");
        RotationCommandsTest.Run r = ckpt("diff", ST, b);
        assertThat(r.code()).as(r.err()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.out()).contains("\\u001b]0;owned\\u0007").doesNotContain("\u001b").doesNotContain("\u0007")
                .contains("1 only in A, 1 only in B");
        JsonNode j = new ObjectMapper().readTree(ckpt("diff", "--json", ST, b).out());
        assertThat(j.get("summary").get("only_in_b").asInt()).isEqualTo(1);
    }

    /** A 5000-character tensor name: quoted capped in diff's table (one row a terminal shows whole), whole in JSON. */
    @Test
    void diffQuotesAHostileTensorNameCapped() throws Exception {
        String prefix = "x".repeat(5000);
        Path b = renamed(ST, prefix);
        RotationCommandsTest.Run r = ckpt("diff", ST, b);
        assertThat(r.code()).as(r.err()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.out().lines()).allSatisfy(l -> assertThat(l.length()).isLessThan(600));
        assertThat(r.out()).containsPattern("x{200}… \\(50\\d\\d characters\\)");
        JsonNode j = new ObjectMapper().readTree(ckpt("diff", "--json", ST, b).out());
        assertThat(j.get("tensors").findValuesAsText("name")).anyMatch(name -> name.startsWith(prefix) && name.length() > 5000);
    }
}
